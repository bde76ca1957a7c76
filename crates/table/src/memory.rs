//! The one allocation of the bucket array, backed by huge pages where the
//! kernel lends them.
//!
//! A lookup touches two random cache lines of an array that may be
//! hundreds of megabytes; with 4 KiB pages nearly every one of them is also
//! a TLB miss (and under a hypervisor a two-dimensional page walk). Asking
//! for transparent huge pages before the array is first touched removes
//! most of those walks. DPDK's own tables live in hugepage memory for the
//! same reason.

use crate::bucket::Bucket;

/// A zeroed array of `n` buckets, allocated once.
pub(crate) fn buckets(n: usize) -> Box<[Bucket]> {
    let mut buckets: Vec<Bucket> = Vec::with_capacity(n);
    advise_huge_pages(buckets.as_ptr().cast(), n * core::mem::size_of::<Bucket>());
    buckets.resize_with(n, Bucket::new);
    buckets.into_boxed_slice()
}

/// Asks Linux to back `len` bytes from `start` with huge pages. Best effort:
/// a refusal (THP disabled, or the range too small) changes nothing but
/// speed, so the result is ignored.
#[cfg(all(target_os = "linux", not(loom)))]
#[allow(unsafe_code)]
fn advise_huge_pages(start: *const u8, len: usize) {
    const PAGE: usize = 4096;
    let first = (start as usize).next_multiple_of(PAGE);
    let end = (start as usize + len) & !(PAGE - 1);
    if end <= first {
        return;
    }
    // SAFETY: madvise with MADV_HUGEPAGE changes only how the kernel backs
    // the range, never its contents or whether it is mapped; the range is
    // page-aligned and lies inside the allocation `start..start + len`
    // that the caller owns and has not yet shared with anyone.
    unsafe {
        libc::madvise(first as *mut libc::c_void, end - first, libc::MADV_HUGEPAGE);
    }
}

#[cfg(not(all(target_os = "linux", not(loom))))]
fn advise_huge_pages(_start: *const u8, _len: usize) {}
