//! End to end with a real worker pipeline built from the `WorkerLink`s:
//! the control thread resolves the tunnel's next hop from the ARP reply
//! the worker punted, and the worker then floods into the tunnel.

use nvo_dataplane::{Discard, Pipeline};
use nvo_packet::decap;
use nvo_packet::template::TunnelKind;

use super::*;

fn pipeline(link: &WorkerLink<VecFrame>) -> Pipeline<VecFrame> {
    Pipeline::new(
        link.shared.clone(),
        link.table.clone(),
        link.counters.clone(),
        link.chan.clone(),
        64,
    )
}

/// An untagged frame from a VM of blue, to `dst`.
fn vm_frame(src: MacAddr, dst: MacAddr) -> VecFrame {
    let mut b = vec![0u8; 60];
    eth(&mut b, dst, src, EtherType(0x88b5)).unwrap();
    b[14..20].copy_from_slice(b"hello!");
    VecFrame::new(&b)
}

#[test]
fn a_vm_frame_to_an_unknown_mac_floods_into_the_tunnel_once_resolved() {
    let mut rig = Rig::new();
    let mut pipe = pipeline(&rig.links[0]);
    rig.plane.set_link(BLUE1, true);
    rig.poll_at(0.0);
    rig.take();
    pipe.refresh();

    // Before resolution the flood copy into the tunnel is dropped.
    let unknown = MacAddr([0x52, 0x54, 0, 0, 9, 9]);
    pipe.process(BLUE1, [vm_frame(mac(1), unknown)], 0);
    assert!(pipe.output(UP).unwrap().is_empty());
    let drops =
        |pipe: &Pipeline<VecFrame>| pipe.counters().drops[Discard::UnknownVtep.index()].get();
    assert_eq!(drops(&pipe), 2, "both head-end tunnels lack a template");
    for p in pipe.ports_with_output().collect::<Vec<_>>() {
        pipe.finish_port(p, 0, 0);
    }

    // The peer's ARP reply arrives on the uplink and is punted.
    pipe.process(UP, [VecFrame::new(&arp_reply_from(PEER_MAC, peer4()))], 0);
    assert_eq!(pipe.counters().punted.get(), 1);
    rig.poll_at(0.1);
    pipe.refresh();

    pipe.process(BLUE1, [vm_frame(mac(1), unknown)], 0);
    let out = std::mem::take(pipe.output(UP).unwrap());
    assert_eq!(out.len(), 1, "one copy into the resolved tunnel");
    let f = out[0].data();
    assert_eq!(&f[..6], &PEER_MAC.0);
    assert_eq!(&f[6..12], &OUR_MAC.0);
    // The peer would accept it: decapsulate as the peer.
    let peer = decap::Config::new(Some(peer4()), None);
    let d = decap::decap(&peer, f).unwrap();
    assert_eq!((d.kind, d.vni), (TunnelKind::Vxlan, 5000));
    assert_eq!(d.remote, IpAddr::V4(our4()));
    assert_eq!(d.inner(f), vm_frame(mac(1), unknown).data());
    assert_eq!(
        drops(&pipe),
        3,
        "the off-link VTEP still waits for its gateway"
    );

    // The worker reported the source; the control thread learned it.
    rig.poll_at(0.2);
    let key = nvo_table::Key::new(BLUE, mac(1).0);
    assert_eq!(
        rig.links[0].table.get(key).unwrap().dest(),
        nvo_table::Dest::Local(BLUE1)
    );
}

#[test]
fn frames_of_the_control_thread_leave_through_a_workers_inject_queue() {
    let cfg = Config::from_str(CONFIG, "t.toml").unwrap();
    let inject = crate::plane::Inject::new(|| Some(VecFrame::new(&[])));
    let (mut plane, links) = ControlPlane::new(cfg, 2, &[OUR_MAC], inject).unwrap();
    // Unattached, the first round's requests are refused.
    assert!(plane.poll(Instant::now()) > 0);
    assert!(plane.stats.tx_refused > 0);
    plane.transmit_mut().attach(&links);
    let mut pipe = pipeline(&links[0]);
    // The next round of requests (a second later) goes to worker 0.
    assert!(plane.poll(Instant::now() + Duration::from_millis(1100)) > 0);
    assert_eq!(
        pipe.take_injected(),
        3,
        "two ARP requests and one solicitation"
    );
    let out = pipe.output(UP).unwrap();
    assert_eq!(out.len(), 3);
    assert_eq!(&out[0].data()[..6], &MacAddr::BROADCAST.0);
    assert_eq!(links[1].chan.inject.len(), 0);
}
