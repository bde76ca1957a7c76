//! Just enough frame building to inject hand-made tunnel packets.

/// "02:00:00:00:00:01" -> bytes.
pub fn mac(text: &str) -> [u8; 6] {
    let mut m = [0u8; 6];
    for (i, p) in text.split(':').enumerate().take(6) {
        m[i] = u8::from_str_radix(p, 16).expect("MAC as aa:bb:cc:dd:ee:ff");
    }
    m
}

/// "198.18.0.1" -> bytes.
pub fn ipv4(text: &str) -> [u8; 4] {
    text.parse::<std::net::Ipv4Addr>()
        .expect("IPv4 address")
        .octets()
}

/// The Internet checksum (RFC 1071) of `data`.
pub fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|c| u32::from(c[0]) << 8 | u32::from(*c.get(1).unwrap_or(&0)))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

pub fn ethernet(dst: &str, src: &str, ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(14 + payload.len());
    f.extend(mac(dst));
    f.extend(mac(src));
    f.extend(ethertype.to_be_bytes());
    f.extend(payload);
    f
}

/// An IPv4 packet (no options, DF clear, TTL 64) with its checksum.
pub fn ipv4_packet(src: &str, dst: &str, proto: u8, payload: &[u8]) -> Vec<u8> {
    let len = (20 + payload.len()) as u16;
    let mut h = vec![0x45, 0];
    h.extend(len.to_be_bytes());
    h.extend([0, 0, 0, 0, 64, proto, 0, 0]);
    h.extend(ipv4(src));
    h.extend(ipv4(dst));
    let c = checksum(&h);
    h[10..12].copy_from_slice(&c.to_be_bytes());
    h.extend(payload);
    h
}

/// An ICMP echo request with its checksum.
pub fn icmp_echo(id: u16, seq: u16, data: &[u8]) -> Vec<u8> {
    let mut m = vec![8, 0, 0, 0];
    m.extend(id.to_be_bytes());
    m.extend(seq.to_be_bytes());
    m.extend(data);
    let c = checksum(&m);
    m[2..4].copy_from_slice(&c.to_be_bytes());
    m
}

/// GRE with the key bit (RFC 2890) around an Ethernet frame: NVGRE when
/// `key` is VSID << 8 | FlowID.
pub fn gre_eth(key: u32, inner: &[u8]) -> Vec<u8> {
    let mut g = vec![0x20, 0x00, 0x65, 0x58];
    g.extend(key.to_be_bytes());
    g.extend(inner);
    g
}

/// "2001:db8::1" -> bytes.
pub fn ipv6(text: &str) -> [u8; 16] {
    text.parse::<std::net::Ipv6Addr>()
        .expect("IPv6 address")
        .octets()
}

/// An IPv6 packet (hop limit 64) around `payload`.
pub fn ipv6_packet(src: &str, dst: &str, next: u8, payload: &[u8]) -> Vec<u8> {
    let mut h = vec![0x60, 0, 0, 0];
    h.extend((payload.len() as u16).to_be_bytes());
    h.extend([next, 64]);
    h.extend(ipv6(src));
    h.extend(ipv6(dst));
    h.extend(payload);
    h
}

/// A UDP datagram between `src` and `dst` (both v4 or both v6), with its
/// checksum computed over the pseudo-header, or zero when `csum` is false.
pub fn udp(src: &str, dst: &str, sport: u16, dport: u16, payload: &[u8], csum: bool) -> Vec<u8> {
    let len = (8 + payload.len()) as u16;
    let mut u = Vec::with_capacity(len as usize);
    u.extend(sport.to_be_bytes());
    u.extend(dport.to_be_bytes());
    u.extend(len.to_be_bytes());
    u.extend([0, 0]);
    u.extend(payload);
    if csum {
        let mut pseudo = Vec::new();
        if src.contains(':') {
            pseudo.extend(ipv6(src));
            pseudo.extend(ipv6(dst));
            pseudo.extend(u32::from(len).to_be_bytes());
            pseudo.extend([0, 0, 0, 17]);
        } else {
            pseudo.extend(ipv4(src));
            pseudo.extend(ipv4(dst));
            pseudo.extend([0, 17]);
            pseudo.extend(len.to_be_bytes());
        }
        pseudo.extend(&u);
        let c = match checksum(&pseudo) {
            0 => 0xffff,
            c => c,
        };
        u[6..8].copy_from_slice(&c.to_be_bytes());
    }
    u
}

/// A VXLAN header (I flag) and the inner frame.
pub fn vxlan(vni: u32, inner: &[u8]) -> Vec<u8> {
    let mut v = vec![0x08, 0, 0, 0];
    v.extend((vni << 8).to_be_bytes());
    v.extend(inner);
    v
}

/// A Geneve header without options (protocol 0x6558) and the inner frame.
pub fn geneve(vni: u32, inner: &[u8]) -> Vec<u8> {
    let mut g = vec![0, 0, 0x65, 0x58];
    g.extend((vni << 8).to_be_bytes());
    g.extend(inner);
    g
}

/// A whole VXLAN-over-IPv4 frame around an inner ICMP echo, for tests of
/// receivers and of the dissection checks.
pub fn vxlan_ipv4_probe(outer_src: &str, outer_dst: &str, vni: u32, csum: bool) -> Vec<u8> {
    let icmp = icmp_echo(1, 1, b"nvo-probe");
    let inner_ip = ipv4_packet("192.0.2.1", "192.0.2.2", 1, &icmp);
    let inner = ethernet("02:00:00:00:00:02", "02:00:00:00:00:01", 0x0800, &inner_ip);
    let u = udp(outer_src, outer_dst, 49152, 4789, &vxlan(vni, &inner), csum);
    let ip = ipv4_packet(outer_src, outer_dst, 17, &u);
    ethernet("02:00:00:00:aa:02", "02:00:00:00:aa:01", 0x0800, &ip)
}

/// A Geneve header with raw `options` (a multiple of 4 bytes, at most 252)
/// and the C bit as given, then the inner frame.
pub fn geneve_with_options(vni: u32, options: &[u8], critical: bool, inner: &[u8]) -> Vec<u8> {
    assert!(
        options.len() % 4 == 0 && options.len() <= 252,
        "Geneve options: 4-byte words, at most 252 bytes"
    );
    let mut g = vec![
        (options.len() / 4) as u8,
        if critical { 0x40 } else { 0 },
        0x65,
        0x58,
    ];
    g.extend((vni << 8).to_be_bytes());
    g.extend(options);
    g.extend(inner);
    g
}

/// One Geneve option TLV: class, type (high bit: critical), data (a
/// multiple of 4 bytes).
pub fn geneve_option(class: u16, kind: u8, data: &[u8]) -> Vec<u8> {
    assert!(
        data.len() % 4 == 0 && data.len() <= 124,
        "option data: 4-byte words"
    );
    let mut o = class.to_be_bytes().to_vec();
    o.push(kind);
    o.push((data.len() / 4) as u8);
    o.extend(data);
    o
}
