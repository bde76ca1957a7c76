//! Ethernet ports (`rte_ethdev`): finding, probing and removing them,
//! configuring queues, RSS, MTU and offloads against the device's reported
//! capabilities, starting and stopping, link state, MAC address, statistics.
//!
//! Threads: a [`Port`] belongs to the control thread. The data path uses
//! [`RxQueue`] and [`TxQueue`] handles taken from it, one owner thread each.
//! The port stays open while any handle lives; [`Port::configure`],
//! [`Port::stop`] and [`Port::close`] refuse while handles are out.

use std::ffi::{CStr, CString};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use dpdk_sys as sys;

use crate::eal::Eal;
use crate::error::{Errno, Error, Result};
use crate::mempool::Mempool;
use crate::queue::{RxQueue, TxQueue};

mod ring;
mod status;
mod types;

pub(crate) use ring::Ring;
pub use types::{
    Link, PortConfig, PortInfo, RssConfig, Stats, RSS_IP, RSS_TCP, RSS_UDP, RX_OFFLOAD_RSS_HASH,
};

/// What ports and their queue handles share. Its drop stops and closes the
/// port (and removes a device this crate probed).
#[derive(Debug)]
pub(crate) struct PortShared {
    /// The ethdev port id.
    pub(crate) id: u16,
    /// The ethdev name.
    pub(crate) name: String,
    /// Whether the port is started.
    started: AtomicBool,
    /// Whether the port is closed already.
    closed: AtomicBool,
    /// Whether `Port::probe` created the device (then closing removes it).
    probed: bool,
    /// Handed-out rx queues.
    pub(crate) rx_taken: Mutex<Vec<bool>>,
    /// Handed-out tx queues.
    pub(crate) tx_taken: Mutex<Vec<bool>>,
    /// Pools the rx queues fill from: kept until the port is closed.
    pools: Mutex<Vec<Mempool>>,
    /// Rings under a ring PMD port: kept until the port is closed.
    _rings: Vec<Arc<Ring>>,
    /// Keeps EAL alive while the port exists.
    _eal: Eal,
}

impl PortShared {
    /// Turns a negative return code into an error for `op`.
    pub(crate) fn check(&self, ret: i32, op: &'static str) -> Result<i32> {
        if ret < 0 {
            return Err(Error::Port {
                port: self.id,
                name: self.name.clone(),
                op,
                errno: Errno::from_ret(ret),
            });
        }
        Ok(ret)
    }

    /// Stops, closes and (if probed here) removes the device; idempotent.
    fn shut(&self) -> Result<()> {
        if self.closed.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        let device = dev_info(self.id).map(|i| i.device).ok();
        if self.started.swap(false, Ordering::SeqCst) {
            // SAFETY: valid port id (ours since open); no queue handle exists
            // (they hold this struct alive), so no thread is polling.
            let ret = unsafe { sys::rte_eth_dev_stop(self.id) };
            self.check(ret, "rte_eth_dev_stop")?;
        }
        // SAFETY: valid, stopped port with no queue users; it is not used
        // through this id after this call (closed is set).
        let ret = unsafe { sys::rte_eth_dev_close(self.id) };
        self.check(ret, "rte_eth_dev_close")?;
        if let (true, Some(dev)) = (self.probed, device) {
            // SAFETY: `dev` is the rte_device of the vdev we probed, obtained
            // before close; rte_dev_remove unplugs it exactly once.
            let ret = unsafe { sys::rte_dev_remove(dev) };
            self.check(ret, "rte_dev_remove")?;
        }
        log::info!("port {} ({}) closed", self.id, self.name);
        Ok(())
    }
}

impl Drop for PortShared {
    fn drop(&mut self) {
        if let Err(e) = self.shut() {
            log::warn!("{e}");
        }
        OPEN[usize::from(self.id)].store(false, Ordering::SeqCst);
    }
}

/// Which port ids a `Port` wraps: one `Port` per id, so that exactly one
/// owner stops and closes each port.
static OPEN: [AtomicBool; sys::RTE_MAX_ETHPORTS as usize] =
    [const { AtomicBool::new(false) }; sys::RTE_MAX_ETHPORTS as usize];

/// An ethdev port, owned by the control thread.
#[derive(Debug)]
pub struct Port {
    /// State shared with the queue handles.
    shared: Arc<PortShared>,
}

impl Port {
    /// Wraps an existing port id.
    fn open(eal: &Eal, id: u16, probed: bool, rings: Vec<Arc<Ring>>) -> Result<Port> {
        // SAFETY: checks any id; EAL is initialised.
        if unsafe { sys::rte_eth_dev_is_valid_port(id) } == 0 {
            return Err(Error::NoSuchPort { port: id });
        }
        let name = port_name(id).ok_or(Error::NoSuchPort { port: id })?;
        // A valid id is below RTE_MAX_ETHPORTS. SeqCst: rare control-path use.
        if OPEN[usize::from(id)].swap(true, Ordering::SeqCst) {
            return Err(Error::PortInUse { port: id, name });
        }
        Ok(Port {
            shared: Arc::new(PortShared {
                id,
                name,
                started: AtomicBool::new(false),
                closed: AtomicBool::new(false),
                probed,
                rx_taken: Mutex::new(Vec::new()),
                tx_taken: Mutex::new(Vec::new()),
                pools: Mutex::new(Vec::new()),
                _rings: rings,
                _eal: eal.clone(),
            }),
        })
    }

    /// The port with id `id` (e.g. one created by `--vdev` on the EAL
    /// command line). One `Port` per id: a second one is
    /// [`Error::PortInUse`] until the first is closed.
    pub fn by_id(eal: &Eal, id: u16) -> Result<Port> {
        Port::open(eal, id, false, Vec::new())
    }

    /// The port named `name` (a vdev name such as `net_vhost0`, or a PCI
    /// address).
    pub fn by_name(eal: &Eal, name: &str) -> Result<Port> {
        Port::open(eal, port_id(name)?, false, Vec::new())
    }

    /// The ids and names of every port.
    pub fn list(_eal: &Eal) -> Vec<(u16, String)> {
        let mut out = Vec::new();
        let mut id = 0u16;
        loop {
            // SAFETY: iterates valid port ids from `id`; returns
            // RTE_MAX_ETHPORTS at the end.
            let next = unsafe { sys::rte_eth_find_next(id) };
            if u32::from(next) >= sys::RTE_MAX_ETHPORTS {
                return out;
            }
            if let Some(name) = port_name(next) {
                out.push((next, name));
            }
            id = next + 1;
        }
    }

    /// Creates a virtual device from `devargs` (`rte_dev_probe`, e.g.
    /// `net_vhost0,iface=/run/vm1.sock,queues=2`) and returns its port.
    /// Closing the port removes the device.
    pub fn probe(eal: &Eal, devargs: &str) -> Result<Port> {
        let c = CString::new(devargs).map_err(|_| Error::Nul {
            what: "devargs",
            value: devargs.to_owned(),
        })?;
        // SAFETY: c is a valid C string; EAL is initialised.
        let ret = unsafe { sys::rte_dev_probe(c.as_ptr()) };
        if ret < 0 {
            return Err(Error::Probe {
                devargs: devargs.to_owned(),
                errno: Errno::from_ret(ret),
            });
        }
        let name = devargs.split(',').next().unwrap_or(devargs);
        let id = match port_id(name) {
            Ok(id) => id,
            Err(e) => {
                // The device exists but made no port of that name: take it
                // away again rather than leak it.
                if let Ok(c_name) = CString::new(name) {
                    // SAFETY: both strings are valid C strings for the call.
                    unsafe { sys::rte_eal_hotplug_remove(c"vdev".as_ptr(), c_name.as_ptr()) };
                }
                return Err(e);
            }
        };
        log::info!("probed {devargs:?} as port {id}");
        Port::open(eal, id, true, Vec::new())
    }

    /// The port id.
    pub fn id(&self) -> u16 {
        self.shared.id
    }

    /// The port name.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// Configures queues, RSS, MTU and offloads, and sets up every queue,
    /// rx queues filling from `pool`. The port must be stopped. Settings
    /// beyond the device's capabilities are refused before reaching it.
    pub fn configure(&mut self, cfg: &PortConfig, pool: &Mempool) -> Result<()> {
        self.no_handles("configure")?;
        let info = self.info()?;
        self.check_capability(
            "rx queues",
            u64::from(cfg.rx_queues),
            u64::from(info.max_rx_queues),
            false,
        )?;
        self.check_capability(
            "tx queues",
            u64::from(cfg.tx_queues),
            u64::from(info.max_tx_queues),
            false,
        )?;
        self.check_capability("rx offloads", cfg.rx_offloads, info.rx_offload_capa, true)?;
        self.check_capability("tx offloads", cfg.tx_offloads, info.tx_offload_capa, true)?;
        if let Some(mtu) = cfg.mtu {
            if mtu < info.min_mtu {
                return Err(self.unsupported(
                    "mtu (below the minimum)",
                    u64::from(mtu),
                    u64::from(info.min_mtu),
                ));
            }
            self.check_capability("mtu", u64::from(mtu), u64::from(info.max_mtu), false)?;
        }
        if cfg.rx_queues == 0 && cfg.tx_queues == 0 {
            return Err(self.unsupported("queue count (zero rx and tx)", 0, 1));
        }

        // SAFETY: rte_eth_conf is plain data for which all-zero is "defaults".
        let mut conf: sys::rte_eth_conf = unsafe { core::mem::zeroed() };
        conf.rxmode.offloads = cfg.rx_offloads;
        conf.txmode.offloads = cfg.tx_offloads;
        let mut key = Vec::new();
        if let Some(rss) = &cfg.rss {
            self.check_capability(
                "RSS hash functions",
                rss.hash_functions,
                info.rss_hash_functions,
                true,
            )?;
            conf.rxmode.mq_mode = sys::rte_eth_rx_mq_mode::RTE_ETH_MQ_RX_RSS;
            conf.rx_adv_conf.rss_conf.rss_hf = rss.hash_functions;
            if let Some(k) = &rss.key {
                if info.rss_key_size != 0 && k.len() != usize::from(info.rss_key_size) {
                    return Err(self.unsupported(
                        "RSS key length",
                        k.len() as u64,
                        u64::from(info.rss_key_size),
                    ));
                }
                key.clone_from(k);
                conf.rx_adv_conf.rss_conf.rss_key = key.as_mut_ptr();
                conf.rx_adv_conf.rss_conf.rss_key_len = key.len() as u8;
            }
            if info.rx_offload_capa & RX_OFFLOAD_RSS_HASH != 0 {
                conf.rxmode.offloads |= RX_OFFLOAD_RSS_HASH;
            }
        }
        if info.link_events {
            conf.intr_conf.set_lsc(1);
        }

        if self.shared.started.load(Ordering::SeqCst) {
            return Err(self.err(Errno::EBUSY, "rte_eth_dev_configure (port is started)"));
        }
        // SAFETY: valid stopped port; conf (and the key it points to) live
        // across the call; DPDK copies what it keeps.
        let ret =
            unsafe { sys::rte_eth_dev_configure(self.id(), cfg.rx_queues, cfg.tx_queues, &conf) };
        self.shared.check(ret, "rte_eth_dev_configure")?;

        let (mut nb_rx, mut nb_tx) = (cfg.rx_descriptors, cfg.tx_descriptors);
        // SAFETY: valid configured port; out-pointers to locals.
        let ret =
            unsafe { sys::rte_eth_dev_adjust_nb_rx_tx_desc(self.id(), &mut nb_rx, &mut nb_tx) };
        self.shared.check(ret, "rte_eth_dev_adjust_nb_rx_tx_desc")?;
        if let Some(mtu) = cfg.mtu {
            self.set_mtu(mtu)?;
        }

        // SAFETY: valid port id.
        let socket = unsafe { sys::rte_eth_dev_socket_id(self.id()) };
        let socket = if socket < 0 { 0 } else { socket as u32 };
        for q in 0..cfg.rx_queues {
            // SAFETY: valid configured port, q < rx_queues; a null rxconf
            // takes the driver's defaults; the pool outlives the port (a
            // clone is kept in `pools` until close).
            let ret = unsafe {
                sys::rte_eth_rx_queue_setup(
                    self.id(),
                    q,
                    nb_rx,
                    socket,
                    core::ptr::null(),
                    pool.as_ptr(),
                )
            };
            self.shared.check(ret, "rte_eth_rx_queue_setup")?;
        }
        for q in 0..cfg.tx_queues {
            // SAFETY: valid configured port, q < tx_queues; null txconf:
            // driver defaults (with the port's tx offloads).
            let ret = unsafe {
                sys::rte_eth_tx_queue_setup(self.id(), q, nb_tx, socket, core::ptr::null())
            };
            self.shared.check(ret, "rte_eth_tx_queue_setup")?;
        }
        lock(&self.shared.pools).push(pool.clone());
        *lock(&self.shared.rx_taken) = vec![false; usize::from(cfg.rx_queues)];
        *lock(&self.shared.tx_taken) = vec![false; usize::from(cfg.tx_queues)];
        log::info!(
            "port {} ({}): {} rx x {nb_rx}, {} tx x {nb_tx} descriptors",
            self.id(),
            self.name(),
            cfg.rx_queues,
            cfg.tx_queues
        );
        Ok(())
    }

    /// Starts the port.
    pub fn start(&mut self) -> Result<()> {
        // SAFETY: valid configured port.
        let ret = unsafe { sys::rte_eth_dev_start(self.id()) };
        self.shared.check(ret, "rte_eth_dev_start")?;
        self.shared.started.store(true, Ordering::SeqCst);
        Ok(())
    }

    /// Stops the port. Refused while queue handles are out (a worker may be
    /// polling them).
    pub fn stop(&mut self) -> Result<()> {
        self.no_handles("stop")?;
        if self.shared.started.swap(false, Ordering::SeqCst) {
            // SAFETY: valid started port; no queue handle exists.
            let ret = unsafe { sys::rte_eth_dev_stop(self.id()) };
            self.shared.check(ret, "rte_eth_dev_stop")?;
        }
        Ok(())
    }

    /// Stops (if started) and closes the port, and removes the device if
    /// [`Port::probe`] created it. Refused while queue handles are out; the
    /// port is given back with the error then.
    pub fn close(self) -> core::result::Result<(), (Port, Error)> {
        if let Err(e) = self.no_handles("close") {
            return Err((self, e));
        }
        self.shared.shut().map_err(|e| {
            (
                Port {
                    shared: Arc::clone(&self.shared),
                },
                e,
            )
        })
    }

    /// Takes the handle of receive queue `queue` (once; dropping it returns it).
    pub fn rx_queue(&self, queue: u16) -> Result<RxQueue> {
        take(&self.shared, &self.shared.rx_taken, "rx", queue)?;
        Ok(RxQueue::new(Arc::clone(&self.shared), queue))
    }

    /// Takes the handle of transmit queue `queue` (once; dropping it returns it).
    pub fn tx_queue(&self, queue: u16) -> Result<TxQueue> {
        take(&self.shared, &self.shared.tx_taken, "tx", queue)?;
        Ok(TxQueue::new(Arc::clone(&self.shared), queue))
    }

    /// Error unless no queue handle is out.
    fn no_handles(&self, op: &'static str) -> Result<()> {
        let count = Arc::strong_count(&self.shared) - 1;
        if count > 0 {
            return Err(Error::QueuesInUse {
                port: self.id(),
                count,
                op,
            });
        }
        Ok(())
    }

    /// Refuses `requested` beyond `supported` (as a mask when `mask`).
    fn check_capability(
        &self,
        what: &'static str,
        requested: u64,
        supported: u64,
        mask: bool,
    ) -> Result<()> {
        let ok = if mask {
            requested & !supported == 0
        } else {
            requested <= supported
        };
        if ok {
            Ok(())
        } else {
            Err(self.unsupported(what, requested, supported))
        }
    }

    /// An Unsupported error for this port.
    fn unsupported(&self, what: &'static str, requested: u64, supported: u64) -> Error {
        Error::Unsupported {
            port: self.id(),
            name: self.name().to_owned(),
            what,
            requested,
            supported,
        }
    }

    /// A Port error for this port.
    fn err(&self, errno: Errno, op: &'static str) -> Error {
        Error::Port {
            port: self.id(),
            name: self.name().to_owned(),
            op,
            errno,
        }
    }
}

/// Marks queue `queue` of `taken` as handed out.
fn take(
    shared: &PortShared,
    taken: &Mutex<Vec<bool>>,
    dir: &'static str,
    queue: u16,
) -> Result<()> {
    let mut t = lock(taken);
    match t.get_mut(usize::from(queue)) {
        None => Err(Error::Queue {
            port: shared.id,
            dir,
            queue,
            reason: "does not exist (configure the port first)",
        }),
        Some(true) => Err(Error::Queue {
            port: shared.id,
            dir,
            queue,
            reason: "is already taken",
        }),
        Some(slot) => {
            *slot = true;
            Ok(())
        }
    }
}

/// Locks a control-path mutex, surviving a poisoned one (a panicking holder
/// cannot leave a Vec<bool> or Vec<Mempool> inconsistent).
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The id of the port named `name`.
fn port_id(name: &str) -> Result<u16> {
    let c = CString::new(name).map_err(|_| Error::Nul {
        what: "port name",
        value: name.to_owned(),
    })?;
    let mut id = 0u16;
    // SAFETY: c is a valid C string; id is a valid out-pointer.
    let ret = unsafe { sys::rte_eth_dev_get_port_by_name(c.as_ptr(), &mut id) };
    if ret < 0 {
        return Err(Error::PortNotFound {
            name: name.to_owned(),
        });
    }
    Ok(id)
}

/// rte_eth_dev_info_get.
fn dev_info(id: u16) -> core::result::Result<sys::rte_eth_dev_info, Errno> {
    // SAFETY: rte_eth_dev_info is plain data; zero is valid.
    let mut info: sys::rte_eth_dev_info = unsafe { core::mem::zeroed() };
    // SAFETY: any id is checked by DPDK; out-pointer to a local.
    let ret = unsafe { sys::rte_eth_dev_info_get(id, &mut info) };
    if ret < 0 {
        return Err(Errno::from_ret(ret));
    }
    Ok(info)
}

/// The name of port `id`.
fn port_name(id: u16) -> Option<String> {
    let mut buf = [0 as core::ffi::c_char; sys::RTE_ETH_NAME_MAX_LEN as usize];
    // SAFETY: buf has RTE_ETH_NAME_MAX_LEN bytes, the size DPDK writes at most.
    let ret = unsafe { sys::rte_eth_dev_get_name_by_port(id, buf.as_mut_ptr()) };
    if ret < 0 {
        return None;
    }
    // SAFETY: DPDK wrote a NUL-terminated name into buf.
    Some(
        unsafe { CStr::from_ptr(buf.as_ptr()) }
            .to_string_lossy()
            .into_owned(),
    )
}
