//! The counters `nvo run` prints when it stops.

use std::sync::Arc;

use nvo_control::config::Config;
use nvo_control::plane::Layout;
use nvo_dataplane::counters::Counter;
use nvo_dataplane::{Counters, Discard, Totals};

/// Prints per-port counters, drops by reason and the frame balance,
/// summed over `workers`.
pub fn print(cfg: &Config, workers: &[Arc<Counters>]) {
    let sum =
        |f: &dyn Fn(&Counters) -> &Counter| -> u64 { workers.iter().map(|c| f(c).get()).sum() };
    let layout = Layout::of(cfg);
    println!(
        "{:<16} {:>14} {:>14} {:>16} {:>16}",
        "PORT", "RX-FRAMES", "TX-FRAMES", "RX-BYTES", "TX-BYTES"
    );
    for i in 0..layout.len() {
        let Some(port) = layout.port_ref(i as u16) else {
            continue;
        };
        let name = cfg.port_name(port);
        let at = |f: fn(&nvo_dataplane::counters::PortCounters) -> &Counter| {
            workers
                .iter()
                .filter_map(|c| c.port(i as u16))
                .map(|p| f(p).get())
                .sum::<u64>()
        };
        println!(
            "{:<16} {:>14} {:>14} {:>16} {:>16}",
            name,
            at(|p| &p.rx_frames),
            at(|p| &p.tx_frames),
            at(|p| &p.rx_bytes),
            at(|p| &p.tx_bytes)
        );
    }
    for i in 0..Discard::COUNT {
        let n: u64 = workers.iter().map(|c| c.drops[i].get()).sum();
        if n > 0 {
            let name = Discard::from_index(i).map_or("?", |d| d.name());
            println!("dropped {name:<24} {n:>14}");
        }
    }
    let t = workers
        .iter()
        .map(|c| c.totals())
        .fold(Totals::default(), |a, b| a + b);
    println!(
        "frames: rx {} + copies {} + generated {} = tx {} + dropped {} + punted {} ({})",
        t.rx,
        t.copies,
        t.generated,
        t.tx,
        t.dropped,
        t.punted,
        if t.conserved() {
            "balanced"
        } else {
            "UNBALANCED"
        }
    );
    let (cycles, frames) = (sum(&|c| &c.busy_cycles), sum(&|c| &c.busy_frames));
    if frames > 0 {
        println!(
            "worker busy cycles per frame: {:.1} ({} frames)",
            cycles as f64 / frames as f64,
            frames
        );
    }
}
