//! The file as written: serde structs that keep every value's span so that
//! validation can point at it. Integers are read as `i64` and strings as
//! `String` on purpose: ranges and syntax are checked by `validate`, which
//! can say which key and which value are wrong far better than serde can.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

pub(crate) type S<T> = Spanned<T>;

/// An integer or a word, for keys such as `ttl = 64` / `ttl = "inherit"`.
/// Deserialized by hand: serde's untagged enums fail with a message that
/// names this type instead of saying what was expected.
#[derive(Debug)]
pub(crate) enum IntOrWord {
    Int(i64),
    Word(String),
}

impl<'de> Deserialize<'de> for IntOrWord {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = IntOrWord;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an integer or \"inherit\"")
            }
            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<IntOrWord, E> {
                Ok(IntOrWord::Int(n))
            }
            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<IntOrWord, E> {
                // Out-of-range values are refused later with the range.
                Ok(IntOrWord::Int(i64::try_from(n).unwrap_or(i64::MAX)))
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<IntOrWord, E> {
                Ok(IntOrWord::Word(s.to_string()))
            }
        }
        d.deserialize_any(Visitor)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConfig {
    pub eal: Option<S<RawEal>>,
    pub cpu: Option<S<RawCpu>>,
    pub switch: Option<S<RawSwitch>>,
    #[serde(default)]
    pub vm_port: Vec<S<RawVmPort>>,
    #[serde(default)]
    pub uplink: Vec<S<RawUplink>>,
    #[serde(default)]
    pub domain: Vec<S<RawDomain>>,
    #[serde(default)]
    pub mac: Vec<S<RawMac>>,
    #[serde(default)]
    pub patch: Vec<S<RawPatch>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawEal {
    pub args: Option<S<Vec<S<String>>>>,
    pub file_prefix: Option<S<String>>,
    pub memory_mb: Option<S<i64>>,
    pub huge_dir: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCpu {
    pub control: Option<S<i64>>,
    pub workers: Option<S<Vec<S<i64>>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSwitch {
    pub mbufs: Option<S<i64>>,
    pub mbuf_cache: Option<S<i64>>,
    pub rx_desc: Option<S<i64>>,
    pub tx_desc: Option<S<i64>>,
    pub burst: Option<S<i64>>,
    pub aging_secs: Option<S<i64>>,
    pub mac_table_size: Option<S<i64>>,
    pub ctl_socket: Option<S<String>>,
    pub udp_src_range: Option<S<Vec<S<i64>>>>,
    pub ttl: Option<S<IntOrWord>>,
    pub dscp: Option<S<IntOrWord>>,
    pub ecn: Option<S<String>>,
    pub ipv6_zero_udp_checksum: Option<S<bool>>,
    pub icmp_rate: Option<S<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawVmPort {
    pub name: S<String>,
    pub socket: S<String>,
    pub mode: Option<S<String>>,
    pub queues: Option<S<i64>>,
    pub domain: Option<S<String>>,
    pub vlan_map: Option<S<BTreeMap<String, S<String>>>>,
    pub learn_limit: Option<S<i64>>,
    pub mac_limit_action: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawUplink {
    pub name: S<String>,
    pub device: S<String>,
    pub ipv4: Option<S<String>>,
    pub ipv6: Option<S<String>>,
    pub gateway4: Option<S<String>>,
    pub gateway6: Option<S<String>>,
    pub neighbors: Option<S<BTreeMap<String, S<String>>>>,
    pub mtu: Option<S<i64>>,
    pub queues: Option<S<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDomain {
    pub name: S<String>,
    pub vni: S<i64>,
    pub tunnel: Option<S<String>>,
    pub udp_port: Option<S<i64>>,
    pub learning: Option<S<bool>>,
    pub flood: Option<S<Vec<S<String>>>>,
    pub group: Option<S<String>>,
    pub inner_vlan: Option<S<String>>,
    pub nvgre_flow_id: Option<S<bool>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMac {
    pub domain: S<String>,
    pub mac: S<String>,
    pub vtep: Option<S<String>>,
    pub port: Option<S<String>>,
    pub ip: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPatch {
    pub ports: S<Vec<S<String>>>,
}
