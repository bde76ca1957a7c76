//! The frame abstraction the pipeline works on.
//!
//! The pipeline never sees a DPDK mbuf: it sees a [`Frame`], a contiguous
//! buffer with room in front for an outer header. nvo-dpdk implements it for
//! its mbuf; [`VecFrame`] implements it over a `Vec` for tests and benches.

/// A received or generated frame: one contiguous buffer with headroom.
///
/// Every method is meant to be a handful of instructions on the hot path;
/// none may allocate except [`Frame::try_copy`], which is only used to
/// replicate flooded frames and to build control replies.
pub trait Frame: Sized {
    /// The frame's bytes, from the first byte of its Ethernet header.
    fn data(&self) -> &[u8];

    /// The frame's bytes, writable.
    fn data_mut(&mut self) -> &mut [u8];

    /// Length of the frame in bytes.
    fn len(&self) -> usize {
        self.data().len()
    }

    /// Whether the frame holds no bytes at all.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Free room in front of the data.
    fn headroom(&self) -> usize;

    /// Grows the frame at the front by `n` bytes and returns the whole
    /// frame, the new bytes first; `None` (and no change) when the
    /// headroom is short.
    fn prepend(&mut self, n: usize) -> Option<&mut [u8]>;

    /// Removes `n` bytes from the front; `false` (and no change) when the
    /// frame is shorter.
    fn adj(&mut self, n: usize) -> bool;

    /// Removes `n` bytes from the end; `false` (and no change) when the
    /// frame is shorter.
    fn trim(&mut self, n: usize) -> bool;

    /// Grows the frame at the end by `n` bytes and returns them; `None`
    /// (and no change) when the tailroom is short.
    fn append(&mut self, n: usize) -> Option<&mut [u8]>;

    /// The receive-side RSS hash the NIC computed, when it did.
    fn rss_hash(&self) -> Option<u32> {
        None
    }

    /// A deep copy in a new buffer with the same headroom guarantee as a
    /// received frame; `None` when no buffer is available.
    fn try_copy(&self) -> Option<Self>;
}

/// Headroom of a [`VecFrame`], as much as a DPDK mbuf has by default.
pub const VEC_HEADROOM: usize = 128;

/// The largest buffer a [`VecFrame`] grows to, as a jumbo-frame mbuf.
pub const VEC_CAPACITY: usize = 10_240;

/// A frame in a `Vec`, for tests, benches and the control path's own use.
/// Two frames are equal when their bytes are.
#[derive(Clone)]
pub struct VecFrame {
    buf: Vec<u8>,
    start: usize,
    rss: Option<u32>,
}

impl VecFrame {
    /// A frame holding a copy of `bytes` with [`VEC_HEADROOM`] in front.
    pub fn new(bytes: &[u8]) -> VecFrame {
        let mut buf = vec![0; VEC_HEADROOM + bytes.len()];
        buf[VEC_HEADROOM..].copy_from_slice(bytes);
        VecFrame {
            buf,
            start: VEC_HEADROOM,
            rss: None,
        }
    }

    /// The same frame, as if the NIC had computed `hash` on receive.
    pub fn with_rss(mut self, hash: u32) -> VecFrame {
        self.rss = Some(hash);
        self
    }
}

impl PartialEq for VecFrame {
    fn eq(&self, other: &VecFrame) -> bool {
        self.data() == other.data()
    }
}

impl Eq for VecFrame {}

impl core::fmt::Debug for VecFrame {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "VecFrame({} bytes:", self.len())?;
        for b in self.data().iter().take(64) {
            write!(f, " {b:02x}")?;
        }
        f.write_str(")")
    }
}

impl Frame for VecFrame {
    fn data(&self) -> &[u8] {
        &self.buf[self.start..]
    }

    fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buf[self.start..]
    }

    fn headroom(&self) -> usize {
        self.start
    }

    fn prepend(&mut self, n: usize) -> Option<&mut [u8]> {
        self.start = self.start.checked_sub(n)?;
        Some(&mut self.buf[self.start..])
    }

    fn adj(&mut self, n: usize) -> bool {
        if n > self.len() {
            return false;
        }
        self.start += n;
        true
    }

    fn trim(&mut self, n: usize) -> bool {
        if n > self.len() {
            return false;
        }
        self.buf.truncate(self.buf.len() - n);
        true
    }

    fn append(&mut self, n: usize) -> Option<&mut [u8]> {
        let end = self.buf.len();
        if end + n > VEC_CAPACITY {
            return None;
        }
        self.buf.resize(end + n, 0);
        Some(&mut self.buf[end..])
    }

    fn rss_hash(&self) -> Option<u32> {
        self.rss
    }

    fn try_copy(&self) -> Option<VecFrame> {
        Some(VecFrame::new(self.data()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepend_adj_trim_keep_bytes_and_refuse_overruns() {
        let mut f = VecFrame::new(&[1, 2, 3, 4]);
        assert_eq!(f.headroom(), VEC_HEADROOM);
        f.prepend(2).unwrap()[..2].copy_from_slice(&[9, 8]);
        assert_eq!(f.data(), &[9, 8, 1, 2, 3, 4]);
        assert!(f.prepend(VEC_HEADROOM).is_none());
        assert_eq!(f.len(), 6);
        assert!(f.adj(2));
        assert!(f.trim(1));
        assert_eq!(f.data(), &[1, 2, 3]);
        assert!(!f.adj(4));
        assert!(!f.trim(4));
        assert_eq!(f.try_copy().unwrap().data(), &[1, 2, 3]);
    }
}
