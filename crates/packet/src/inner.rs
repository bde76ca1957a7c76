//! The few facts encapsulation and decapsulation need from an inner
//! Ethernet frame, read without building full views: where its IP header
//! is, and its TOS (DSCP and ECN) and TTL.

use crate::ethernet::{field, EtherType};
use crate::{be16, DropReason};

/// The inner IP header's position and the fields a tunnel copies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct InnerIp {
    /// Offset of the IP header within the inner frame.
    pub offset: usize,
    /// IPv4 TOS or IPv6 traffic class.
    pub tos: u8,
    /// IPv4 TTL or IPv6 hop limit.
    pub ttl: u8,
}

/// Checks the inner Ethernet header (length, tags) and finds its IP header.
///
/// Tagged frames are refused unless `allow_tags`; then up to two tags are
/// skipped. Returns `None` for a frame that is not IP, or whose IP header
/// is too short to hold the fields read (it is forwarded as non-IP).
#[inline(always)]
pub(crate) fn inspect(inner: &[u8], allow_tags: bool) -> Result<Option<InnerIp>, DropReason> {
    if inner.len() < field::HEADER_LEN {
        return Err(DropReason::Truncated);
    }
    let mut at = field::ETHERTYPE;
    let mut et = EtherType(be16(inner, at));
    if et.is_tag() {
        if !allow_tags {
            return Err(DropReason::InnerTagged);
        }
        while et.is_tag() && at < field::ETHERTYPE + 2 * field::TAG_LEN {
            at += field::TAG_LEN;
            if inner.len() < at + 2 {
                return Err(DropReason::Truncated);
            }
            et = EtherType(be16(inner, at));
        }
    }
    let l3 = at + 2;
    let ip = &inner[l3..];
    Ok(match et {
        EtherType::IPV4 if ip.len() >= 20 && ip[0] >> 4 == 4 => Some(InnerIp {
            offset: l3,
            tos: ip[1],
            ttl: ip[8],
        }),
        EtherType::IPV6 if ip.len() >= 40 && ip[0] >> 4 == 6 => Some(InnerIp {
            offset: l3,
            tos: (be16(ip, 0) >> 4) as u8,
            ttl: ip[7],
        }),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tagged_inner_is_refused_by_default() {
        let mut f = [0u8; 64];
        f[12..14].copy_from_slice(&[0x81, 0x00]);
        assert_eq!(inspect(&f, false), Err(DropReason::InnerTagged));
    }

    #[test]
    fn tags_are_skipped_when_allowed() {
        let mut f = [0u8; 64];
        f[12..14].copy_from_slice(&[0x81, 0x00]);
        f[16..18].copy_from_slice(&[0x08, 0x00]);
        f[18] = 0x45;
        f[19] = 0xb9;
        f[26] = 7;
        assert_eq!(
            inspect(&f, true),
            Ok(Some(InnerIp {
                offset: 18,
                tos: 0xb9,
                ttl: 7
            }))
        );
    }

    #[test]
    fn non_ip_inner_has_no_ip_facts() {
        let mut f = [0u8; 60];
        f[12..14].copy_from_slice(&[0x08, 0x06]);
        assert_eq!(inspect(&f, false), Ok(None));
    }
}
