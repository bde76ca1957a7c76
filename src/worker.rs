//! The worker loop: one per pinned worker lcore, run to completion over the
//! receive queues it owns, transmitting on a queue of its own on every port.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use nvo_dataplane::{Discard, Pipeline};
use nvo_dpdk::{tsc, tsc_hz, Burst, Mbuf, RxQueue, TxQueue};

/// Everything one worker owns.
pub struct Worker {
    /// The worker's pipeline.
    pub pipe: Pipeline<Mbuf>,
    /// The receive queues it polls, with the switch port index of each.
    pub rx: Vec<(u16, RxQueue)>,
    /// Its transmit queue on every port, by switch port index.
    pub tx: Vec<Option<TxQueue>>,
    /// Set by the control thread to stop.
    pub stop: Arc<AtomicBool>,
}

impl Worker {
    /// Polls until told to stop. Every frame received is transmitted,
    /// dropped and counted, or handed to the control thread.
    pub fn run(mut self) {
        self.pipe.set_tsc_hz(tsc_hz());
        let mut burst = Burst::new();
        let mut txb = Burst::new();
        while !self.stop.load(Ordering::Relaxed) {
            self.pipe.refresh();
            if self.pipe.take_injected() > 0 {
                self.flush(&mut txb);
            }
            for i in 0..self.rx.len() {
                let start = tsc();
                let (port, q) = &mut self.rx[i];
                let port = *port;
                let n = q.rx_burst(&mut burst);
                if n == 0 {
                    self.pipe.counters().idle_polls.inc();
                    continue;
                }
                self.drop_chained(port, &mut burst);
                self.pipe.process(port, burst.drain(), start);
                self.flush(&mut txb);
                let c = self.pipe.counters();
                c.busy_cycles.add(tsc() - start);
                c.busy_frames.add(n as u64);
            }
        }
    }

    /// Removes frames in several segments, which the pipeline does not
    /// take, counting them as received and dropped.
    #[cold]
    fn drop_chained_slow(&mut self, port: u16, burst: &mut Burst) {
        let c = self.pipe.counters();
        let mut i = 0;
        while i < burst.len() {
            if burst.as_slice()[i].is_contiguous() {
                i += 1;
                continue;
            }
            if let Some(m) = burst.swap_remove(i) {
                if let Some(pc) = c.port(port) {
                    pc.rx_frames.inc();
                    pc.rx_bytes.add(m.len() as u64);
                }
                c.discard(Discard::Chained);
            }
        }
    }

    #[inline]
    fn drop_chained(&mut self, port: u16, burst: &mut Burst) {
        if burst.as_slice().iter().any(|m| !m.is_contiguous()) {
            self.drop_chained_slow(port, burst);
        }
    }

    /// Hands every port's queued frames to its transmit queue; what the
    /// queue refuses is freed and counted.
    #[inline]
    fn flush(&mut self, txb: &mut Burst) {
        for p in 0..self.tx.len() {
            let port = p as u16;
            let Some(out) = self.pipe.output(port) else {
                continue;
            };
            if out.is_empty() {
                continue;
            }
            let Some(q) = self.tx[p].as_mut() else {
                // No queue on this port: finish_port counts them as refused.
                self.pipe.finish_port(port, 0, 0);
                continue;
            };
            let (mut sent, mut bytes, mut refused) = (0u64, 0u64, 0u64);
            while !out.is_empty() {
                let k = out.len().min(nvo_dpdk::BURST_SIZE);
                let mut offered = 0u64;
                for m in out.drain(..k) {
                    offered += m.len() as u64;
                    // The burst is empty and k fits it: push cannot fail.
                    let _ = txb.push(m);
                }
                let s = q.tx_burst(txb);
                let left: u64 = txb.as_slice().iter().map(|m| m.len() as u64).sum();
                sent += s as u64;
                bytes += offered - left;
                refused += txb.len() as u64;
                txb.clear();
            }
            self.pipe.finish_port(port, sent, bytes);
            self.pipe.counters().discard_n(Discard::TxFull, refused);
        }
    }
}
