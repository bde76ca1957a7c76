//! vhost-user ports through the `net_vhost` PMD (nvo is the backend a VM's
//! virtio-net talks to), virtio-user ports (a VM stand-in for tests), and
//! port events (link up/down, vring enabled/disabled) delivered to the
//! control thread over a channel.
//!
//! Events are raised on DPDK's own threads (the interrupt thread, the vhost
//! message thread). The callback only reads the event and sends it on an
//! unbounded crossbeam channel, which never blocks; the control thread
//! receives at its own pace.

use std::ffi::{c_int, c_void};
use std::path::PathBuf;

use crossbeam_channel::{Receiver, Sender};
use dpdk_sys as sys;

use crate::eal::Eal;
use crate::error::{Errno, Error, Result};
use crate::port::Port;

/// A vhost-user port: nvo serves (or connects to) a socket a VM's
/// virtio-net device uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VhostConfig {
    /// The vdev name; must start with `net_vhost` (e.g. `net_vhost0`).
    pub name: String,
    /// The vhost-user socket path.
    pub iface: PathBuf,
    /// Queue pairs.
    pub queues: u16,
    /// Connect to the socket as a client (QEMU is the server, and nvo
    /// reconnects when QEMU restarts) instead of creating it as the server.
    pub client: bool,
    /// Accept a guest IOMMU (vIOMMU) in the VM.
    pub iommu_support: bool,
    /// Support postcopy live migration.
    pub postcopy_support: bool,
    /// Negotiate TSO with the guest.
    pub tso: bool,
    /// Never chain mbufs for large frames (linear buffers only).
    pub linear_buffer: bool,
    /// Use external buffers for large frames.
    pub ext_buffer: bool,
}

impl VhostConfig {
    /// A server-mode, single-queue vhost port named `name` on socket `iface`.
    pub fn new(name: impl Into<String>, iface: impl Into<PathBuf>) -> VhostConfig {
        VhostConfig {
            name: name.into(),
            iface: iface.into(),
            queues: 1,
            client: false,
            iommu_support: false,
            postcopy_support: false,
            tso: false,
            linear_buffer: false,
            ext_buffer: false,
        }
    }

    /// The devargs string for `rte_dev_probe`.
    pub fn devargs(&self) -> String {
        let mut s = format!(
            "{},iface={},queues={}",
            self.name,
            self.iface.display(),
            self.queues
        );
        for (on, key) in [
            (self.client, "client"),
            (self.iommu_support, "iommu-support"),
            (self.postcopy_support, "postcopy-support"),
            (self.tso, "tso"),
            (self.linear_buffer, "linear-buffer"),
            (self.ext_buffer, "ext-buffer"),
        ] {
            if on {
                s.push_str(&format!(",{key}=1"));
            }
        }
        s
    }

    /// Creates the vhost port. Configure and start it like any port; the
    /// link comes up when the guest's driver is ready ([`PortEvent::Link`]).
    ///
    /// In server mode, a socket file left at `iface` by a process that died
    /// (nobody accepts on it) is removed first: the vhost library would fail
    /// to bind over it when the port is configured. A socket someone still
    /// listens on is left alone, and configuring the port then fails.
    pub fn probe(&self, eal: &Eal) -> Result<Port> {
        if !self.name.starts_with("net_vhost") {
            return Err(Error::Probe {
                devargs: self.devargs(),
                errno: Errno::EINVAL,
            });
        }
        if !self.client {
            remove_stale_socket(&self.iface);
        }
        Port::probe(eal, &self.devargs())
    }
}

/// Removes `path` if it is a Unix socket that refuses connections (its
/// server is gone).
fn remove_stale_socket(path: &std::path::Path) {
    use std::os::unix::fs::FileTypeExt;
    let is_socket = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket());
    if !is_socket {
        return;
    }
    if let Err(e) = std::os::unix::net::UnixStream::connect(path) {
        if e.kind() == std::io::ErrorKind::ConnectionRefused {
            match std::fs::remove_file(path) {
                Ok(()) => log::info!("removed stale vhost-user socket {}", path.display()),
                Err(e) => log::warn!("cannot remove stale socket {}: {e}", path.display()),
            }
        }
    }
}

/// The devargs of a virtio-user port `name` (must start with
/// `net_virtio_user`) on vhost-user socket `path` with `queues` queue pairs;
/// `server`: it creates the socket and the vhost side connects.
pub fn virtio_user_devargs(name: &str, path: &str, queues: u16, server: bool) -> String {
    let mut s = format!("{name},path={path},queues={queues}");
    if server {
        s.push_str(",server=1");
    }
    s
}

/// An event of a port, as the control thread receives it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortEvent {
    /// The link changed state; read it with [`Port::link`]. For a vhost port
    /// this is the guest connecting (up) or going away (down).
    Link {
        /// Port id.
        port: u16,
    },
    /// A vring of a vhost port was enabled or disabled by the guest.
    QueueState {
        /// Port id.
        port: u16,
        /// Queue id.
        queue: u16,
        /// An rx queue (guest to host) rather than tx.
        rx: bool,
        /// Enabled rather than disabled.
        enabled: bool,
    },
    /// The device was removed.
    Removed {
        /// Port id.
        port: u16,
    },
}

/// The events DPDK tells us about.
const EVENTS: [sys::rte_eth_event_type::Type; 3] = [
    sys::rte_eth_event_type::RTE_ETH_EVENT_INTR_LSC,
    sys::rte_eth_event_type::RTE_ETH_EVENT_QUEUE_STATE,
    sys::rte_eth_event_type::RTE_ETH_EVENT_INTR_RMV,
];

/// A subscription to the events of every port (present and future), owned
/// by the control thread. Dropping it unsubscribes.
#[derive(Debug)]
pub struct PortEvents {
    /// Where events arrive.
    rx: Receiver<PortEvent>,
    /// The callbacks' argument: a leaked `Box<Sender>`, freed on drop after
    /// the callbacks are unregistered.
    tx: *mut Sender<PortEvent>,
    /// Keeps EAL alive while callbacks are registered.
    _eal: Eal,
}

// SAFETY: `tx` is only dereferenced by the callbacks (as &Sender, which is
// Sync) and freed once in drop; Receiver is Send.
unsafe impl Send for PortEvents {}

impl PortEvents {
    /// Subscribes to link, queue-state and removal events of all ports.
    pub fn subscribe(eal: &Eal) -> Result<PortEvents> {
        let (tx, rx) = crossbeam_channel::unbounded();
        let tx = Box::into_raw(Box::new(tx));
        let me = PortEvents {
            rx,
            tx,
            _eal: eal.clone(),
        };
        for ev in EVENTS {
            // SAFETY: `on_event` has the callback ABI; `tx` stays valid until
            // drop unregisters every callback; EAL is initialised.
            let ret = unsafe {
                sys::rte_eth_dev_callback_register(
                    sys::RTE_ETH_ALL as u16,
                    ev,
                    Some(on_event),
                    me.tx.cast(),
                )
            };
            if ret < 0 {
                // `me` drops here: it unregisters what was registered.
                return Err(Error::Vhost {
                    port: sys::RTE_ETH_ALL as u16,
                    op: "rte_eth_dev_callback_register",
                    errno: Errno::from_ret(ret),
                });
            }
        }
        Ok(me)
    }

    /// The channel the events arrive on (select on it, or poll it).
    pub fn receiver(&self) -> &Receiver<PortEvent> {
        &self.rx
    }

    /// The next event, if one is waiting.
    pub fn try_next(&self) -> Option<PortEvent> {
        self.rx.try_recv().ok()
    }

    /// The next event, waiting at most `timeout`.
    pub fn next_timeout(&self, timeout: std::time::Duration) -> Option<PortEvent> {
        self.rx.recv_timeout(timeout).ok()
    }
}

impl Drop for PortEvents {
    fn drop(&mut self) {
        for ev in EVENTS {
            loop {
                // SAFETY: same function and argument as registered; EAL is
                // alive (we hold it).
                let ret = unsafe {
                    sys::rte_eth_dev_callback_unregister(
                        sys::RTE_ETH_ALL as u16,
                        ev,
                        Some(on_event),
                        self.tx.cast(),
                    )
                };
                // -EAGAIN: the callback is running right now; wait it out.
                if Errno::from_ret(ret) != Errno::EAGAIN || ret >= 0 {
                    break;
                }
                std::thread::yield_now();
            }
        }
        // SAFETY: every callback is unregistered (and none is running), so
        // nothing refers to the Box any more; it came from Box::into_raw.
        drop(unsafe { Box::from_raw(self.tx) });
    }
}

/// The callback DPDK calls on its own threads.
unsafe extern "C" fn on_event(
    port: u16,
    event: sys::rte_eth_event_type::Type,
    arg: *mut c_void,
    _param: *mut c_void,
) -> c_int {
    // SAFETY: `arg` is the Box<Sender> of a PortEvents that stays alive until
    // this callback is unregistered (and not running).
    let tx = unsafe { &*arg.cast::<Sender<PortEvent>>() };
    match event {
        sys::rte_eth_event_type::RTE_ETH_EVENT_INTR_LSC => {
            let _ = tx.send(PortEvent::Link { port });
        }
        sys::rte_eth_event_type::RTE_ETH_EVENT_INTR_RMV => {
            let _ = tx.send(PortEvent::Removed { port });
        }
        sys::rte_eth_event_type::RTE_ETH_EVENT_QUEUE_STATE => loop {
            let mut q = sys::rte_eth_vhost_queue_event::default();
            // SAFETY: out-pointer to a local; for a non-vhost port the call
            // fails and we stop.
            if unsafe { sys::rte_eth_vhost_get_queue_event(port, &mut q) } < 0 {
                break;
            }
            let _ = tx.send(PortEvent::QueueState {
                port,
                queue: q.queue_id,
                rx: q.rx,
                enabled: q.enable,
            });
        },
        _ => {}
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_mode_devargs_name_only_the_socket_and_queues() {
        let c = VhostConfig::new("net_vhost3", "/run/vm.sock");
        assert_eq!(c.devargs(), "net_vhost3,iface=/run/vm.sock,queues=1");
    }

    #[test]
    fn options_become_devargs_flags() {
        let mut c = VhostConfig::new("net_vhost3", "/run/vm.sock");
        c.queues = 4;
        c.client = true;
        c.iommu_support = true;
        c.linear_buffer = true;
        assert_eq!(
            c.devargs(),
            "net_vhost3,iface=/run/vm.sock,queues=4,client=1,iommu-support=1,linear-buffer=1"
        );
    }

    #[test]
    fn virtio_user_devargs_in_both_modes() {
        assert_eq!(
            virtio_user_devargs("net_virtio_user1", "/s", 2, false),
            "net_virtio_user1,path=/s,queues=2"
        );
        assert_eq!(
            virtio_user_devargs("net_virtio_user1", "/s", 2, true),
            "net_virtio_user1,path=/s,queues=2,server=1"
        );
    }
}
