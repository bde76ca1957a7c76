//! The Toeplitz hash of receive-side scaling, as Microsoft's "RSS hashing
//! functions" and "Verifying the RSS hash calculation" pages define it, made
//! table driven.
//!
//! The bit-serial definition XORs, for every set bit `j` of the input (MSB
//! first), the 32 key bits starting at bit `j`. Every input byte position
//! and byte value therefore contributes a fixed word: a table of
//! [`MAX_INPUT`] × 256 words, built once per key (in `const` context for
//! the default key), turns the hash into one load and one XOR per input
//! byte. The table is 36 KiB; an IPv4 5-tuple touches 12 KiB of it.
//!
//! The input order is RSS's: source address, destination address, source
//! port, destination port, all in network byte order. The protocol number
//! is not part of the input; RSS picks a hash type instead.

use core::net::{Ipv4Addr, Ipv6Addr};

/// Key length: enough for the longest input (IPv6 with ports, 36 bytes)
/// plus the 4-byte window.
pub const KEY_LEN: usize = 40;

/// Longest input: IPv6 source and destination and two ports.
pub const MAX_INPUT: usize = 36;

/// The key of Microsoft's verification suite, also the default of many NICs.
pub const MICROSOFT_KEY: [u8; KEY_LEN] = [
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0,
    0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c,
    0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
];

/// The table for [`MICROSOFT_KEY`], built at compile time.
pub static DEFAULT: Toeplitz = Toeplitz::new(&MICROSOFT_KEY);

/// A Toeplitz hash for one key: the per-position, per-byte-value table.
#[derive(Clone)]
pub struct Toeplitz {
    table: [[u32; 256]; MAX_INPUT],
}

impl core::fmt::Debug for Toeplitz {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Toeplitz { .. }")
    }
}

impl Toeplitz {
    /// Builds the table for `key`. Usable in `const` context; at run time
    /// it costs about 70,000 simple steps, so build it on the control path.
    pub const fn new(key: &[u8; KEY_LEN]) -> Toeplitz {
        let mut table = [[0u32; 256]; MAX_INPUT];
        let mut i = 0;
        while i < MAX_INPUT {
            // The 40 key bits starting at byte i hold every window that an
            // input bit of byte i can select.
            let k = ((key[i] as u64) << 32)
                | ((key[i + 1] as u64) << 24)
                | ((key[i + 2] as u64) << 16)
                | ((key[i + 3] as u64) << 8)
                | (key[i + 4] as u64);
            let mut v = 0;
            while v < 256 {
                let mut h = 0u32;
                let mut bit = 0;
                while bit < 8 {
                    if v & (0x80 >> bit) != 0 {
                        h ^= (k >> (8 - bit)) as u32;
                    }
                    bit += 1;
                }
                table[i][v] = h;
                v += 1;
            }
            i += 1;
        }
        Toeplitz { table }
    }

    /// Hashes up to [`MAX_INPUT`] bytes; bytes beyond are ignored.
    #[inline]
    pub fn hash(&self, input: &[u8]) -> u32 {
        let mut h = 0;
        for (row, b) in self.table.iter().zip(input) {
            h ^= row[usize::from(*b)];
        }
        h
    }

    /// Hashes a fixed-size input; the size lets the compiler unroll.
    #[inline(always)]
    fn hash_array<const N: usize>(&self, input: &[u8; N]) -> u32 {
        let mut h = 0;
        let mut i = 0;
        while i < N && i < MAX_INPUT {
            h ^= self.table[i][usize::from(input[i])];
            i += 1;
        }
        h
    }

    /// RSS hash type "IPv4 with TCP/UDP": addresses then ports.
    #[inline]
    pub fn ipv4_ports(&self, src: Ipv4Addr, dst: Ipv4Addr, sport: u16, dport: u16) -> u32 {
        let (s, d, sp, dp) = (
            src.octets(),
            dst.octets(),
            sport.to_be_bytes(),
            dport.to_be_bytes(),
        );
        self.hash_array(&[
            s[0], s[1], s[2], s[3], d[0], d[1], d[2], d[3], sp[0], sp[1], dp[0], dp[1],
        ])
    }

    /// RSS hash type "IPv4": addresses only.
    #[inline]
    pub fn ipv4(&self, src: Ipv4Addr, dst: Ipv4Addr) -> u32 {
        let (s, d) = (src.octets(), dst.octets());
        self.hash_array(&[s[0], s[1], s[2], s[3], d[0], d[1], d[2], d[3]])
    }

    /// RSS hash type "IPv6 with TCP/UDP": addresses then ports.
    #[inline]
    pub fn ipv6_ports(&self, src: Ipv6Addr, dst: Ipv6Addr, sport: u16, dport: u16) -> u32 {
        let mut input = [0u8; 36];
        input[..16].copy_from_slice(&src.octets());
        input[16..32].copy_from_slice(&dst.octets());
        input[32..34].copy_from_slice(&sport.to_be_bytes());
        input[34..].copy_from_slice(&dport.to_be_bytes());
        self.hash_array(&input)
    }

    /// RSS hash type "IPv6": addresses only.
    #[inline]
    pub fn ipv6(&self, src: Ipv6Addr, dst: Ipv6Addr) -> u32 {
        let mut input = [0u8; 32];
        input[..16].copy_from_slice(&src.octets());
        input[16..].copy_from_slice(&dst.octets());
        self.hash_array(&input)
    }
}

/// The bit-serial definition, for tests and for checking a table.
pub fn reference(key: &[u8; KEY_LEN], input: &[u8]) -> u32 {
    let mut result = 0u32;
    let mut window = u32::from_be_bytes([key[0], key[1], key[2], key[3]]);
    for (i, byte) in input.iter().take(MAX_INPUT).enumerate() {
        for bit in 0..8 {
            if byte & (0x80 >> bit) != 0 {
                result ^= window;
            }
            // Slide the window one key bit to the left.
            let next = key[i + 4] & (0x80 >> bit) != 0;
            window = (window << 1) | u32::from(next);
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    fn v6(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    // Microsoft, "Verifying the RSS Hash Calculation", IPv4 table:
    // (destination, source, IPv4 only, IPv4 with TCP).
    const IPV4_VECTORS: [(&str, u16, &str, u16, u32, u32); 5] = [
        (
            "161.142.100.80",
            1766,
            "66.9.149.187",
            2794,
            0x323e8fc2,
            0x51ccc178,
        ),
        (
            "65.69.140.83",
            4739,
            "199.92.111.2",
            14230,
            0xd718262a,
            0xc626b0ea,
        ),
        (
            "12.22.207.184",
            38024,
            "24.19.198.95",
            12898,
            0xd2d0a5de,
            0x5c2b394a,
        ),
        (
            "209.142.163.6",
            2217,
            "38.27.205.30",
            48228,
            0x82989176,
            0xafc7327f,
        ),
        (
            "202.188.127.2",
            1303,
            "153.39.163.191",
            44251,
            0x5d1809c5,
            0x10e828a2,
        ),
    ];

    // The same page, IPv6 table.
    const IPV6_VECTORS: [(&str, u16, &str, u16, u32, u32); 3] = [
        (
            "3ffe:2501:200:3::1",
            1766,
            "3ffe:2501:200:1fff::7",
            2794,
            0x2cc18cd5,
            0x40207d3d,
        ),
        (
            "ff02::1",
            4739,
            "3ffe:501:8::260:97ff:fe40:efab",
            14230,
            0x0f0c461c,
            0xdde51bbf,
        ),
        (
            "fe80::200:f8ff:fe21:67cf",
            38024,
            "3ffe:1900:4545:3:200:f8ff:fe21:67cf",
            44251,
            0x4b61e985,
            0x02d1feef,
        ),
    ];

    #[test]
    fn microsoft_ipv4_verification_vectors() {
        for (dst, dport, src, sport, l3, l4) in IPV4_VECTORS {
            assert_eq!(DEFAULT.ipv4(v4(src), v4(dst)), l3, "{src} -> {dst}");
            assert_eq!(
                DEFAULT.ipv4_ports(v4(src), v4(dst), sport, dport),
                l4,
                "{src} -> {dst}"
            );
        }
    }

    #[test]
    fn microsoft_ipv6_verification_vectors() {
        for (dst, dport, src, sport, l3, l4) in IPV6_VECTORS {
            assert_eq!(DEFAULT.ipv6(v6(src), v6(dst)), l3, "{src} -> {dst}");
            assert_eq!(
                DEFAULT.ipv6_ports(v6(src), v6(dst), sport, dport),
                l4,
                "{src} -> {dst}"
            );
        }
    }

    #[test]
    fn table_agrees_with_bit_serial_definition() {
        let input: Vec<u8> = (0..36u8)
            .map(|i| i.wrapping_mul(97).wrapping_add(13))
            .collect();
        for n in 0..=36 {
            assert_eq!(
                DEFAULT.hash(&input[..n]),
                reference(&MICROSOFT_KEY, &input[..n]),
                "{n}"
            );
        }
    }

    #[test]
    fn runtime_table_equals_const_table() {
        let t = Toeplitz::new(&MICROSOFT_KEY);
        assert_eq!(t.hash(b"0123456789ab"), DEFAULT.hash(b"0123456789ab"));
    }
}
