//! A [`Transmit`] over the workers' inject queues: the control thread
//! hands its frames to a worker, which sends them on its own transmit
//! queue between bursts (`Pipeline::take_injected`), so that no transmit
//! queue ever has two owners.

use std::sync::Arc;

use nvo_dataplane::events::Channels;
use nvo_dataplane::Frame;

use super::{Transmit, WorkerLink};

/// Sends through the inject queue of the first worker whose queue has
/// room; frames come from `alloc` (the switch's frame pool).
///
/// Made before the control plane (which makes the queues), then given
/// the queues with [`Inject::attach`]:
///
/// ```text
/// let (mut plane, links) = ControlPlane::new(cfg, n, &macs, Inject::new(|| pool.alloc()))?;
/// plane.transmit_mut().attach(&links);
/// ```
pub struct Inject<F, A> {
    alloc: A,
    chans: Vec<Arc<Channels<F>>>,
}

impl<F, A: FnMut() -> Option<F>> Inject<F, A> {
    /// An injector that is not attached to any worker yet: until
    /// [`Inject::attach`], every send is refused.
    pub fn new(alloc: A) -> Inject<F, A> {
        Inject {
            alloc,
            chans: Vec::new(),
        }
    }

    /// Sends through the queues of `links`' workers from now on.
    pub fn attach(&mut self, links: &[WorkerLink<F>]) {
        self.chans = links.iter().map(|l| Arc::clone(&l.chan)).collect();
    }
}

impl<F: Frame, A: FnMut() -> Option<F>> Transmit<F> for Inject<F, A> {
    fn alloc(&mut self) -> Option<F> {
        (self.alloc)()
    }

    fn send(&mut self, port: u16, frame: F) -> bool {
        let mut item = (port, frame);
        for chan in &self.chans {
            match chan.inject.push(item) {
                Ok(()) => return true,
                Err(back) => item = back,
            }
        }
        // Every queue is full: the frame is dropped here.
        false
    }
}
