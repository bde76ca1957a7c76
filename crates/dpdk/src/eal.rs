//! The Environment Abstraction Layer: initialisation (once per process),
//! lcore enumeration, launching work on worker lcores, and the TSC clock.
//!
//! DPDK can be initialised once per process and never again after cleanup.
//! [`Eal::init`] enforces that with an atomic state machine: a second call
//! returns [`Error::EalOnce`] instead of reaching `rte_eal_init`, which would
//! fail or abort. The returned [`Eal`] is a cheap, cloneable handle; every
//! object that lives in DPDK memory (pools, ports, hash tables) holds a clone,
//! and `rte_eal_cleanup` runs when the last clone is dropped, after every
//! worker lcore has returned.

use std::ffi::{c_int, c_void, CString};
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

use dpdk_sys as sys;

use crate::error::{Errno, Error, Result, LCORE_BUSY};

/// No initialisation was attempted yet.
const NEW: u8 = 0;
/// Initialisation is under way or succeeded, and cleanup has not run.
const RUNNING: u8 = 1;
/// `rte_eal_init` failed; DPDK may hold partial state, so it cannot be retried.
const FAILED: u8 = 2;
/// `rte_eal_cleanup` ran; DPDK cannot be initialised again.
const CLEANED: u8 = 3;

/// Where this process stands with EAL. Only `Eal::init` moves it out of NEW
/// (a single compare-exchange picks the one caller that may call
/// `rte_eal_init`), and only the last `Eal` handle's drop moves it to
/// CLEANED. SeqCst everywhere: it is touched a handful of times per process.
static STATE: AtomicU8 = AtomicU8::new(NEW);

/// A handle on the initialised EAL. Clone it freely (an `Arc`); the last
/// clone dropped waits for all worker lcores and calls `rte_eal_cleanup`.
#[derive(Clone, Debug)]
pub struct Eal {
    /// Shared ownership of the EAL lifetime.
    _inner: Arc<EalInner>,
}

/// Owner of the EAL lifetime; its drop is the cleanup.
#[derive(Debug)]
struct EalInner;

impl Drop for EalInner {
    fn drop(&mut self) {
        // The last handle may die on a worker lcore (captured by launched
        // work that outlived everything else). Waiting for all lcores there
        // would wait for itself, and cleanup belongs to the main thread:
        // leave EAL to the process exit instead.
        // SAFETY: reads EAL's configuration, initialised (we exist).
        let main = unsafe { sys::rte_get_main_lcore() };
        if current_lcore().is_some_and(|id| id != main && id < sys::RTE_MAX_LCORE) {
            log::warn!("last EAL handle dropped on a worker lcore; EAL is left to process exit");
            return;
        }
        // SAFETY:
        // - EAL was initialised (an EalInner exists only after rte_eal_init
        //   succeeded) and is cleaned up exactly once: this is the only drop
        //   of the only EalInner.
        // - Every pool, port and table holds an Eal clone, so none is alive;
        //   a pool leaked because mbufs were out leaked its clone too, so we
        //   never get here while DPDK memory is referenced.
        // - rte_eal_mp_wait_lcore first waits for every launched worker, so
        //   no lcore runs code over memory that cleanup releases.
        unsafe {
            sys::rte_eal_mp_wait_lcore();
            sys::rte_eal_cleanup();
        }
        STATE.store(CLEANED, Ordering::SeqCst);
        log::info!("EAL cleaned up");
    }
}

impl Eal {
    /// Initialises EAL with `args`, program name first, exactly as a C
    /// `main` would pass argv (e.g. `["nvo", "-l", "0,1", "--no-pci",
    /// "--file-prefix", "nvo1"]`). Once per process: a second call, after
    /// success, failure or cleanup, returns [`Error::EalOnce`].
    ///
    /// The argument strings are leaked on purpose: EAL may keep pointers
    /// into argv for the life of the process, and this runs once.
    pub fn init<I, S>(args: I) -> Result<Eal>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let args: Vec<String> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
        let mut c_args = Vec::with_capacity(args.len());
        for a in &args {
            let c = CString::new(a.as_str()).map_err(|_| Error::Nul {
                what: "EAL argument",
                value: a.clone(),
            })?;
            c_args.push(c);
        }

        if let Err(state) = STATE.compare_exchange(NEW, RUNNING, Ordering::SeqCst, Ordering::SeqCst)
        {
            return Err(Error::EalOnce(match state {
                RUNNING => "initialised",
                FAILED => "initialised without success",
                _ => "cleaned up",
            }));
        }

        let mut argv: Vec<*mut std::ffi::c_char> =
            c_args.into_iter().map(CString::into_raw).collect();
        let argc = c_int::try_from(argv.len()).unwrap_or(c_int::MAX);
        // SAFETY:
        // - argv holds argc valid NUL-terminated strings, leaked so they
        //   outlive EAL (which may keep pointers into them), and the vector
        //   itself stays alive across the call (EAL may permute it).
        // - STATE guarantees this is the only rte_eal_init of the process.
        let ret = unsafe { sys::rte_eal_init(argc, argv.as_mut_ptr()) };
        std::mem::forget(argv);
        if ret < 0 {
            STATE.store(FAILED, Ordering::SeqCst);
            return Err(Error::EalInit {
                args,
                errno: Errno::last(),
            });
        }
        log::info!(
            "EAL initialised: {} lcores, TSC at {} Hz",
            lcore_count(),
            tsc_hz()
        );
        Ok(Eal {
            _inner: Arc::new(EalInner),
        })
    }

    /// The main lcore (the thread that called `init`).
    pub fn main_lcore(&self) -> u32 {
        // SAFETY: EAL is initialised (self exists); reads its configuration.
        unsafe { sys::rte_get_main_lcore() }
    }

    /// The enabled worker lcores, in id order (the main lcore excluded).
    pub fn worker_lcores(&self) -> Vec<u32> {
        let mut out = Vec::new();
        let mut id = u32::MAX; // rte_get_next_lcore starts after `id`: MAX+1 wraps to 0.
        loop {
            // SAFETY: EAL is initialised; the call reads its lcore table.
            id = unsafe { sys::rte_get_next_lcore(id, 1, 0) };
            if id >= sys::RTE_MAX_LCORE {
                return out;
            }
            out.push(id);
        }
    }

    /// The number of enabled lcores, main included.
    pub fn lcore_count(&self) -> u32 {
        lcore_count()
    }

    /// The NUMA socket of an lcore, `None` for an id beyond RTE_MAX_LCORE.
    pub fn lcore_socket(&self, lcore: u32) -> Option<u32> {
        if lcore >= sys::RTE_MAX_LCORE {
            return None;
        }
        // SAFETY: EAL is initialised and lcore < RTE_MAX_LCORE, as required.
        Some(unsafe { sys::rte_lcore_to_socket_id(lcore) })
    }

    /// Registers the calling (non-EAL) thread with EAL so it gets an lcore
    /// id and may use per-lcore mempool caches. Returns its lcore id.
    pub fn register_current_thread(&self) -> Result<u32> {
        // SAFETY: EAL is initialised; the call affects only this thread.
        let ret = unsafe { sys::rte_thread_register() };
        if ret < 0 {
            return Err(Error::Lcore {
                lcore: u32::MAX,
                reason: "no free lcore id to register this thread",
            });
        }
        Ok(current_lcore().unwrap_or(u32::MAX))
    }

    /// Runs `work` on worker lcore `lcore` (`rte_eal_remote_launch`) and
    /// returns a handle to join it. Fails if the lcore is not an enabled
    /// worker or is already running something. A panic inside `work` is
    /// caught on the lcore and reported by [`Launched::join`].
    ///
    /// The handle borrows this `Eal`, so EAL cannot be cleaned up by it
    /// going away while the work runs; dropping the handle joins.
    pub fn launch<F, T>(&self, lcore: u32, work: F) -> Result<Launched<'_, T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        if !self.worker_lcores().contains(&lcore) {
            return Err(Error::Lcore {
                lcore,
                reason: "it is not an enabled worker lcore",
            });
        }
        // The lcore stays ours from launch to join: a second launch before
        // the join would mix up the two works' return codes in EAL.
        // SeqCst: control-path, once per launch. lcore < RTE_MAX_LCORE (it
        // is an enabled worker).
        if LAUNCHED[lcore as usize].swap(true, Ordering::SeqCst) {
            return Err(Error::Lcore {
                lcore,
                reason: LCORE_BUSY,
            });
        }
        let slot: Arc<Mutex<Option<T>>> = Arc::new(Mutex::new(None));
        let out = Arc::clone(&slot);
        let job: Job = Box::new(move || {
            let value = work();
            if let Ok(mut s) = out.lock() {
                *s = Some(value);
            }
        });
        let arg = Box::into_raw(Box::new(job));
        // SAFETY:
        // - `trampoline` has the lcore_function_t ABI and takes ownership of
        //   `arg`, a leaked Box<Job>, exactly once when it runs.
        // - EAL is initialised and `lcore` is an enabled worker (checked).
        let ret = unsafe { sys::rte_eal_remote_launch(Some(trampoline), arg.cast(), lcore) };
        if ret != 0 {
            // SAFETY: the launch failed, so the trampoline will never run and
            // `arg` is still ours to free (a Box<Job> from into_raw above).
            drop(unsafe { Box::from_raw(arg) });
            LAUNCHED[lcore as usize].store(false, Ordering::SeqCst);
            return Err(Error::Lcore {
                lcore,
                reason: LCORE_BUSY,
            });
        }
        Ok(Launched {
            lcore,
            slot,
            joined: false,
            _eal: PhantomData,
        })
    }
}

/// Worker lcores launched and not yet joined. A forgotten `Launched` keeps
/// its lcore marked busy for good, which is safe.
static LAUNCHED: [AtomicBool; sys::RTE_MAX_LCORE as usize] =
    [const { AtomicBool::new(false) }; sys::RTE_MAX_LCORE as usize];

/// Work sent to an lcore.
type Job = Box<dyn FnOnce() + Send>;

/// Runs on the worker lcore: takes back the boxed closure and runs it,
/// catching a panic (unwinding into C would abort the process).
extern "C" fn trampoline(arg: *mut c_void) -> c_int {
    // SAFETY: `arg` is the Box<Job> leaked by `Eal::launch` for this single
    // run; EAL passes it to us once, so we own it.
    let job = unsafe { Box::from_raw(arg.cast::<Job>()) };
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)) {
        Ok(()) => 0,
        Err(_) => -1,
    }
}

/// Work running on a worker lcore. Join it to get its result; dropping the
/// handle without joining waits for the work to end.
#[derive(Debug)]
#[must_use = "dropping a Launched waits for the lcore's work to finish"]
pub struct Launched<'eal, T> {
    /// The lcore running the work.
    lcore: u32,
    /// Where the work leaves its result.
    slot: Arc<Mutex<Option<T>>>,
    /// Whether rte_eal_wait_lcore was already called.
    joined: bool,
    /// Ties the handle to the Eal it was launched from.
    _eal: PhantomData<&'eal Eal>,
}

impl<T> Launched<'_, T> {
    /// The lcore running the work.
    pub fn lcore(&self) -> u32 {
        self.lcore
    }

    /// Waits for the work to end and returns its value, or
    /// [`Error::WorkerPanicked`] if it panicked.
    pub fn join(mut self) -> Result<T> {
        let ret = self.wait();
        let value = self.slot.lock().ok().and_then(|mut s| s.take());
        match value {
            Some(v) if ret == 0 => Ok(v),
            _ => Err(Error::WorkerPanicked { lcore: self.lcore }),
        }
    }

    /// rte_eal_wait_lcore once; returns the work's return code.
    fn wait(&mut self) -> c_int {
        if self.joined {
            return 0;
        }
        self.joined = true;
        // SAFETY: EAL is alive (the handle borrows an Eal); waiting on a
        // worker lcore blocks until its function returns.
        let ret = unsafe { sys::rte_eal_wait_lcore(self.lcore) };
        LAUNCHED[self.lcore as usize].store(false, Ordering::SeqCst);
        ret
    }
}

impl<T> Drop for Launched<'_, T> {
    fn drop(&mut self) {
        self.wait();
    }
}

/// The DPDK version string nvo runs against, e.g. `DPDK 22.11.11`.
pub fn dpdk_version() -> String {
    // SAFETY: rte_version returns a pointer to a static NUL-terminated
    // string; it needs no EAL initialisation.
    unsafe { std::ffi::CStr::from_ptr(sys::rte_version()) }
        .to_string_lossy()
        .into_owned()
}

/// The number of enabled lcores.
fn lcore_count() -> u32 {
    // SAFETY: reads EAL's configuration; returns 0 before init.
    unsafe { sys::rte_lcore_count() }
}

/// The lcore id of the calling thread, or `None` for a thread EAL does not
/// know. Cheap (a thread-local read through the shim).
pub fn current_lcore() -> Option<u32> {
    // SAFETY: reads a thread-local variable; valid on any thread.
    let id = unsafe { sys::nvo_rte_lcore_id() };
    (id != sys::LCORE_ID_ANY).then_some(id)
}

/// The time stamp counter (`rdtsc`).
#[inline]
pub fn tsc() -> u64 {
    // SAFETY: rdtsc has no preconditions.
    unsafe { sys::nvo_rte_rdtsc() }
}

/// TSC ticks per second as EAL measured them at init (0 before init).
pub fn tsc_hz() -> u64 {
    // SAFETY: reads a value EAL computed at init; 0 before.
    unsafe { sys::rte_get_tsc_hz() }
}
