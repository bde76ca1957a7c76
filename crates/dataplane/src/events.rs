//! What a worker and the control thread tell each other: learned addresses
//! and frames for the control plane one way, frames for the worker to send
//! the other. One [`Channels`] per worker, so every queue has one producer
//! and one consumer. All queues are bounded and never block the worker:
//! when one is full the worker counts the loss and goes on.
//!
//! The control thread sends its own frames (ARP, neighbour discovery,
//! echo replies, IGMP/MLD reports) through a worker's `inject` queue rather
//! than through a transmit queue of its own, so that every transmit queue
//! keeps a single owner even on ports with as few queues as workers.

use std::net::IpAddr;

use crossbeam_queue::ArrayQueue;
use nvo_packet::ethernet::MacAddr;

/// A source address seen by a worker, to enter or refresh in the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Learn {
    /// Domain index.
    pub domain: u16,
    /// The source MAC address.
    pub mac: MacAddr,
    /// Where it was seen.
    pub at: Location,
}

/// Where a source address was seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Location {
    /// Behind this local port.
    Port(u16),
    /// Behind the VTEP with this underlay address, which sent it from the
    /// uplink `via`.
    Vtep {
        /// The sending VTEP's address (the outer source).
        addr: IpAddr,
        /// The uplink the tunnel frame arrived on.
        via: u16,
    },
}

/// A frame for the control thread (ARP, ICMP, neighbour discovery for our
/// VTEP addresses), with the port it arrived on.
#[derive(Debug)]
pub struct Punted<F> {
    /// Ingress port index.
    pub port: u16,
    /// The frame, untouched.
    pub frame: F,
}

/// The queues of one worker toward the control thread.
#[derive(Debug)]
pub struct Channels<F> {
    /// Learn and refresh events.
    pub learn: ArrayQueue<Learn>,
    /// Frames for the control plane.
    pub punt: ArrayQueue<Punted<F>>,
    /// Frames from the control plane for the worker to send: the port
    /// index, then the frame.
    pub inject: ArrayQueue<(u16, F)>,
}

impl<F> Channels<F> {
    /// Queues holding `learn` events and `punt` frames each way.
    pub fn new(learn: usize, punt: usize) -> Channels<F> {
        Channels {
            learn: ArrayQueue::new(learn),
            punt: ArrayQueue::new(punt),
            inject: ArrayQueue::new(punt),
        }
    }
}
