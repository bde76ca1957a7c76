//! Learn events, learn limits, statics and aging.

use nvo_dataplane::events::{Learn, Location};
use nvo_table::{Dest, Key, Lifetime};

use super::*;

fn learn(rig: &Rig, domain: u16, m: MacAddr, at: Location) {
    let ev = Learn { domain, mac: m, at };
    assert!(rig.links[0].chan.learn.push(ev).is_ok());
}

fn dest(rig: &Rig, domain: u16, m: MacAddr) -> Option<(Dest, Lifetime)> {
    let h = rig.links[1].table.get(Key::new(domain, m.0))?;
    Some((h.dest(), h.lifetime()))
}

#[test]
fn a_source_seen_on_a_port_is_learned_there() {
    let mut rig = Rig::new();
    learn(&rig, BLUE, mac(1), Location::Port(BLUE1));
    learn(&rig, RED, mac(1), Location::Port(RED1));
    rig.poll_at(0.0);
    assert_eq!(
        dest(&rig, BLUE, mac(1)),
        Some((Dest::Local(BLUE1), Lifetime::Learned))
    );
    assert_eq!(
        dest(&rig, RED, mac(1)),
        Some((Dest::Local(RED1), Lifetime::Learned))
    );
    assert_eq!(rig.plane.macs.per_port, vec![1, 1, 0, 0]);
}

#[test]
fn a_source_behind_a_new_vtep_makes_a_tunnel_and_resolves_it() {
    let mut rig = Rig::new();
    rig.poll_at(0.0);
    rig.take();
    let vtep: IpAddr = "198.18.0.77".parse().unwrap();
    let at = Location::Vtep {
        addr: vtep,
        via: UP,
    };
    learn(&rig, BLUE, mac(1), at);
    rig.poll_at(0.01);
    let snap = rig.plane.snapshot();
    let t = snap
        .tunnel_to(BLUE, vtep)
        .expect("tunnel made on first sight");
    let tun = snap.tunnel(t).unwrap();
    assert_eq!((tun.domain, tun.uplink), (BLUE, UP));
    assert!(tun.template.is_none());
    assert!(
        !snap.domains[0].flood.contains(&t),
        "learned VTEPs are not flooded to"
    );
    assert_eq!(
        dest(&rig, BLUE, mac(1)),
        Some((Dest::Remote(t), Lifetime::Learned))
    );
    // Its next hop is asked for at the next timer round.
    rig.poll_at(0.2);
    let asked = rig
        .take()
        .iter()
        .any(|(_, f)| f[12..14] == [8, 6] && f[38..42] == [198, 18, 0, 77]);
    assert!(asked);
    // A second domain behind the same VTEP shares its VTEP index.
    learn(&rig, RED, mac(1), at);
    rig.poll_at(0.3);
    let snap = rig.plane.snapshot();
    let t2 = snap.tunnel_to(RED, vtep).unwrap();
    assert_ne!(t, t2);
    assert_eq!(snap.tunnel(t2).unwrap().vtep, snap.tunnel(t).unwrap().vtep);
    rig.punt(UP, &arp_reply_from(PEER_MAC, Ipv4Addr::new(198, 18, 0, 77)));
    rig.poll_at(0.4);
    assert_eq!(next_hop_of(&rig.plane, RED, vtep), Some(PEER_MAC));
}

#[test]
fn a_port_at_its_limit_forwards_without_learning() {
    let mut rig = Rig::new();
    for n in 1..=3 {
        learn(&rig, BLUE, mac(n), Location::Port(BLUE1));
    }
    rig.poll_at(0.0);
    assert!(dest(&rig, BLUE, mac(2)).is_some());
    assert_eq!(dest(&rig, BLUE, mac(3)), None);
    assert_eq!(rig.plane.stats.limit_refused, 1);
    // Refreshing a learned source is not a new address.
    learn(&rig, BLUE, mac(1), Location::Port(BLUE1));
    rig.poll_at(0.1);
    assert_eq!(rig.plane.stats.limit_refused, 1);
}

#[test]
fn a_port_at_its_limit_with_drop_blocks_the_new_source() {
    let mut rig = Rig::new();
    for n in 1..=3 {
        learn(&rig, RED, mac(n), Location::Port(RED1));
    }
    rig.poll_at(0.0);
    assert_eq!(
        dest(&rig, RED, mac(2)),
        Some((Dest::Local(RED1), Lifetime::Learned))
    );
    assert_eq!(
        dest(&rig, RED, mac(3)),
        Some((Dest::Drop, Lifetime::Learned))
    );
    assert_eq!(rig.plane.stats.limit_dropped, 1);
    assert_eq!(rig.plane.macs.per_port[usize::from(RED1)], 2);
}

#[test]
fn a_moving_source_moves_its_charge() {
    let mut rig = Rig::new();
    learn(&rig, BLUE, mac(1), Location::Port(BLUE1));
    rig.poll_at(0.0);
    learn(&rig, BLUE, mac(1), Location::Port(GW));
    rig.poll_at(0.1);
    assert_eq!(dest(&rig, BLUE, mac(1)).unwrap().0, Dest::Local(GW));
    assert_eq!(rig.plane.macs.per_port, vec![0, 0, 1, 0]);
    learn(
        &rig,
        BLUE,
        mac(1),
        Location::Vtep {
            addr: peer4().into(),
            via: UP,
        },
    );
    rig.poll_at(0.2);
    assert!(matches!(
        dest(&rig, BLUE, mac(1)).unwrap().0,
        Dest::Remote(_)
    ));
    assert_eq!(rig.plane.macs.per_port, vec![0, 0, 0, 0]);
}

#[test]
fn static_entries_are_never_moved_by_learning() {
    let mut rig = Rig::new();
    learn(&rig, BLUE, STATIC1, Location::Port(GW));
    learn(&rig, BLUE, STATIC2, Location::Port(BLUE1));
    rig.poll_at(0.0);
    assert_eq!(
        dest(&rig, BLUE, STATIC1),
        Some((Dest::Local(BLUE1), Lifetime::Static))
    );
    assert!(matches!(
        dest(&rig, BLUE, STATIC2),
        Some((Dest::Remote(_), Lifetime::Static))
    ));
    assert_eq!(rig.plane.stats.static_kept, 2);
}

#[test]
fn domains_without_learning_learn_nothing() {
    let text = CONFIG.replace("vni = 6000\n", "vni = 6000\nlearning = false\n");
    let mut rig = Rig::with(&text);
    learn(&rig, RED, mac(1), Location::Port(RED1));
    rig.poll_at(0.0);
    assert_eq!(dest(&rig, RED, mac(1)), None);
}

#[test]
fn aging_removes_learned_entries_only_and_frees_the_limit() {
    let mut rig = Rig::new();
    learn(&rig, BLUE, mac(1), Location::Port(BLUE1));
    learn(&rig, BLUE, mac(2), Location::Port(BLUE1));
    rig.poll_at(0.0);
    // mac(2) keeps being seen; mac(1) goes quiet.
    learn(&rig, BLUE, mac(2), Location::Port(BLUE1));
    rig.poll_at(20.0);
    rig.poll_at(30.5);
    assert!(
        dest(&rig, BLUE, mac(1)).is_some(),
        "not older than aging_secs yet"
    );
    rig.poll_at(31.5);
    assert_eq!(dest(&rig, BLUE, mac(1)), None);
    assert!(dest(&rig, BLUE, mac(2)).is_some());
    assert!(dest(&rig, BLUE, STATIC1).is_some());
    assert_eq!(rig.plane.stats.aged, 1);
    assert_eq!(rig.plane.macs.per_port[usize::from(BLUE1)], 1);
    learn(&rig, BLUE, mac(3), Location::Port(BLUE1));
    rig.poll_at(32.0);
    assert!(
        dest(&rig, BLUE, mac(3)).is_some(),
        "room again under the limit"
    );
    rig.poll_at(200.0);
    assert_eq!(dest(&rig, BLUE, mac(2)), None);
    assert_eq!(dest(&rig, BLUE, mac(3)), None);
    assert!(dest(&rig, BLUE, STATIC1).is_some());
    assert!(dest(&rig, RED, STATIC1).is_some());
    assert_eq!(rig.plane.macs.per_port, vec![0, 0, 0, 0]);
}

#[test]
fn a_full_table_refuses_and_counts_without_panicking() {
    let text = CONFIG.replace("aging_secs = 30", "aging_secs = 30\nmac_table_size = 1024");
    let mut rig = Rig::with(&text);
    let vtep: IpAddr = peer4().into();
    for i in 0..2000u32 {
        let m = MacAddr([2, 0, 0, (i >> 16) as u8, (i >> 8) as u8, i as u8]);
        rig.plane.learn(
            Learn {
                domain: BLUE,
                mac: m,
                at: Location::Vtep {
                    addr: vtep,
                    via: UP,
                },
            },
            rig.t0,
        );
    }
    assert!(rig.plane.stats.table_full > 0);
    assert_eq!(
        rig.plane.macs.map.len(),
        rig.plane.table.len(),
        "the shadow map holds what the table holds"
    );
}

#[test]
fn a_port_going_down_forgets_what_it_learned() {
    let mut rig = Rig::new();
    rig.plane.set_link(BLUE1, true);
    rig.plane.set_link(RED1, true);
    learn(&rig, BLUE, mac(1), Location::Port(BLUE1));
    for n in 1..=3 {
        learn(&rig, RED, mac(n), Location::Port(RED1));
    }
    rig.poll_at(0.0);
    rig.plane.set_link(RED1, false);
    assert!(dest(&rig, BLUE, mac(1)).is_some());
    for n in 1..=3 {
        assert_eq!(dest(&rig, RED, mac(n)), None, "blocked ones too");
    }
    assert!(dest(&rig, RED, STATIC1).is_some());
    assert_eq!(rig.plane.macs.per_port, vec![1, 0, 0, 0]);
}

/// Whether an ARP request for `ip` was among `sent`.
fn asked_for(sent: &[(u16, Vec<u8>)], ip: Ipv4Addr) -> bool {
    sent.iter()
        .any(|(_, f)| f.len() >= 42 && f[12..14] == [0x08, 0x06] && f[38..42] == ip.octets())
}

#[test]
fn a_learned_vteps_tunnel_retires_with_its_last_address_and_its_index_rests() {
    let mut rig = Rig::new();
    rig.poll_at(0.0);
    let vtep = Ipv4Addr::new(198, 18, 0, 77);
    let at = |addr: Ipv4Addr| Location::Vtep {
        addr: addr.into(),
        via: UP,
    };
    learn(&rig, BLUE, mac(1), at(vtep));
    learn(&rig, BLUE, mac(2), at(vtep));
    rig.poll_at(0.1);
    let t = rig.plane.snapshot().tunnel_to(BLUE, vtep.into()).unwrap();
    // mac(2) is seen again, mac(1) ages out: the tunnel stays, and its
    // unresolved next hop is asked for.
    learn(&rig, BLUE, mac(2), at(vtep));
    rig.poll_at(20.0);
    rig.take();
    rig.poll_at(31.5);
    assert!(asked_for(&rig.take(), vtep));
    assert_eq!(dest(&rig, BLUE, mac(1)), None);
    assert_eq!(rig.plane.snapshot().tunnel_to(BLUE, vtep.into()), Some(t));
    // mac(2) ages out too: nothing names the tunnel and it goes.
    rig.poll_at(60.0);
    assert_eq!(dest(&rig, BLUE, mac(2)), None);
    let snap = rig.plane.snapshot();
    assert_eq!(snap.tunnel_to(BLUE, vtep.into()), None);
    assert!(snap.tunnel(t).is_none());
    // Configured flood tunnels stay, named or not.
    let flooded = snap.tunnel_to(BLUE, "198.18.0.2".parse().unwrap()).unwrap();
    assert!(snap.domains[usize::from(BLUE)].flood.contains(&flooded));
    // Within a second of its retirement the index is not reused.
    let other = Ipv4Addr::new(198, 18, 0, 78);
    learn(&rig, RED, mac(3), at(other));
    rig.poll_at(60.5);
    let u = rig.plane.snapshot().tunnel_to(RED, other.into()).unwrap();
    assert_ne!(u, t);
    // The retired tunnel's next hop is no longer asked for.
    rig.take();
    rig.poll_at(61.5);
    assert!(!asked_for(&rig.take(), vtep));
    // After a second, the index is reused, here by another domain.
    learn(&rig, RED, mac(4), at(vtep));
    rig.poll_at(62.0);
    assert_eq!(rig.plane.snapshot().tunnel_to(RED, vtep.into()), Some(t));
    assert_eq!(
        dest(&rig, RED, mac(4)),
        Some((Dest::Remote(t), Lifetime::Learned))
    );
}
