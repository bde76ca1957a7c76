//! Ports made of rings (the ring PMD): two ports back to back, a virtual
//! cable for tests and loops.

use std::sync::Arc;

use dpdk_sys as sys;

use super::Port;
use crate::eal::Eal;
use crate::error::{c_name, Errno, Error, Result};

/// A ring of the ring PMD, freed after the ports using it are closed.
#[derive(Debug)]
pub(crate) struct Ring(core::ptr::NonNull<sys::rte_ring>);

// SAFETY: an rte_ring lives in shared memory; the ring PMD uses it in
// multi-producer/multi-consumer mode (flags 0), and we only free it.
unsafe impl Send for Ring {}
// SAFETY: as for Send; no method reads through &Ring.
unsafe impl Sync for Ring {}

impl Drop for Ring {
    fn drop(&mut self) {
        // SAFETY: the ring came from rte_ring_create; it is dropped with the
        // last port using it, after that port was closed.
        unsafe { sys::rte_ring_free(self.0.as_ptr()) };
    }
}

impl Port {
    /// Two ports joined back to back by a pair of rings (the ring PMD): what
    /// one sends the other receives. A virtual cable for tests. The ring PMD
    /// names the ports `net_ring_<name_a>` and `net_ring_<name_b>`; the
    /// names must be unique in the process. `queues` rx and tx queues each.
    pub fn ring_pair(eal: &Eal, name_a: &str, name_b: &str, queues: u16) -> Result<(Port, Port)> {
        let mut a_to_b = Vec::new();
        let mut b_to_a = Vec::new();
        for q in 0..queues {
            a_to_b.push(Arc::new(ring(&format!("{name_a}>{q}"), 1024)?));
            b_to_a.push(Arc::new(ring(&format!("{name_b}>{q}"), 1024)?));
        }
        let a = ring_port(eal, name_a, &b_to_a, &a_to_b)?;
        let b = ring_port(eal, name_b, &a_to_b, &b_to_a)?;
        Ok((a, b))
    }
}

/// A single-producer/consumer-agnostic ring of `count` slots.
fn ring(name: &str, count: u32) -> Result<Ring> {
    let c = c_name("ring", name, sys::RTE_RING_NAMESIZE as usize - 1)?;
    // SAFETY: c is a valid C string (copied by DPDK); flags 0: MP/MC ring.
    let raw = unsafe { sys::rte_ring_create(c.as_ptr(), count, sys::SOCKET_ID_ANY, 0) };
    core::ptr::NonNull::new(raw)
        .map(Ring)
        .ok_or_else(|| Error::RingCreate {
            name: name.to_owned(),
            count,
            errno: Errno::last(),
        })
}

/// A ring PMD port receiving from `rx` and sending into `tx`.
fn ring_port(eal: &Eal, name: &str, rx: &[Arc<Ring>], tx: &[Arc<Ring>]) -> Result<Port> {
    let c = c_name("port", name, sys::RTE_ETH_NAME_MAX_LEN as usize - 1)?;
    let rx_ptrs: Vec<*mut sys::rte_ring> = rx.iter().map(|r| r.0.as_ptr()).collect();
    let tx_ptrs: Vec<*mut sys::rte_ring> = tx.iter().map(|r| r.0.as_ptr()).collect();
    // SAFETY: the rings are live and outlive the port (kept in PortShared);
    // the arrays hold as many rings as told; the name is a valid C string.
    let id = unsafe {
        sys::rte_eth_from_rings(
            c.as_ptr(),
            rx_ptrs.as_ptr(),
            rx_ptrs.len() as u32,
            tx_ptrs.as_ptr(),
            tx_ptrs.len() as u32,
            0,
        )
    };
    if id < 0 {
        return Err(Error::Probe {
            devargs: format!("ring port {name}"),
            errno: Errno::last(),
        });
    }
    let rings = rx.iter().chain(tx).cloned().collect();
    // rte_eth_from_rings made a vdev: closing the port removes it.
    Port::open(eal, id as u16, true, rings)
}
