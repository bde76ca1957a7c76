//! What travels over the management socket: one JSON [`Request`] per line
//! from `nvo ctl`, one JSON [`Response`] per line back.
//!
//! ```text
//! -> {"cmd":"show_macs","domain":"blue"}
//! <- {"result":"macs","macs":[{"domain":"blue","mac":"52:54:00:00:00:01",...}]}
//! -> {"cmd":"del_domain","name":"red"}
//! <- {"result":"error","kind":"unsupported","message":"..."}
//! ```

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::counters::CounterSet;
use crate::config::{MacAddr, Tunnel, VhostMode};

/// A request from `nvo ctl`. The tag is `cmd`, in snake case. Unknown
/// commands and unknown fields are refused (serde cannot check fields of
/// the commands that take none, so those ignore extras).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// nvo's version; also a cheap liveness check.
    Version,
    /// Every port with its state.
    ShowPorts,
    /// Every domain.
    ShowDomains,
    /// Every remote VTEP known, configured or learned.
    ShowVteps,
    /// The MAC table, of one domain or of all.
    ShowMacs {
        /// Only this domain; all when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        domain: Option<String>,
    },
    /// Every counter, summed over workers.
    ShowCounters,
    /// Add a static MAC, as a `[[mac]]` table would.
    AddMac(MacSpec),
    /// Remove a static or learned MAC.
    DelMac {
        /// Its domain.
        domain: String,
        /// The address.
        mac: MacAddr,
    },
    /// Add a domain, as a `[[domain]]` table would.
    AddDomain(DomainSpec),
    /// Remove a domain and everything learned in it.
    DelDomain {
        /// Its name.
        name: String,
    },
    /// Add a vhost-user port, as a `[[vm_port]]` table would.
    AddPort(PortSpec),
    /// Remove a port.
    DelPort {
        /// Its name.
        name: String,
    },
    /// Read the configuration file again and apply what can be applied
    /// without a restart; a refused file changes nothing.
    Reload,
    /// Stop the switch cleanly.
    Shutdown,
}

/// A static MAC mapping: exactly one of `vtep` and `port`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MacSpec {
    /// Its domain.
    pub domain: String,
    /// A unicast MAC.
    pub mac: MacAddr,
    /// The remote VTEP it is behind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vtep: Option<IpAddr>,
    /// The local VM port it is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<String>,
    /// Its IP, for local ARP/ND answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<IpAddr>,
}

/// A domain to add; absent fields take the configuration file's defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainSpec {
    /// Unique name.
    pub name: String,
    /// VNI / VSID.
    pub vni: u32,
    /// Encapsulation; VXLAN when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tunnel: Option<Tunnel>,
    /// UDP destination port; the tunnel's default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub udp_port: Option<u16>,
    /// Flood and learn; on when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub learning: Option<bool>,
    /// Head-end replication list.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flood: Vec<IpAddr>,
    /// Underlay multicast group, instead of `flood`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<IpAddr>,
}

/// A vhost-user port to add.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortSpec {
    /// Unique name.
    pub name: String,
    /// The vhost-user socket.
    pub socket: String,
    /// Server when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<VhostMode>,
    /// Queue pairs; 1 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queues: Option<u16>,
    /// Domain of untagged frames.
    pub domain: String,
}

/// The answer to one request. The tag is `result`, in snake case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Response {
    /// The request was carried out; nothing to show.
    Done,
    /// For `Version`.
    Version {
        /// As `nvo --version` prints it.
        version: String,
    },
    /// For `ShowPorts`.
    Ports {
        /// In configuration order.
        ports: Vec<PortInfo>,
    },
    /// For `ShowDomains`.
    Domains {
        /// In configuration order.
        domains: Vec<DomainInfo>,
    },
    /// For `ShowVteps`.
    Vteps {
        /// Sorted by address.
        vteps: Vec<VtepInfo>,
    },
    /// For `ShowMacs`.
    Macs {
        /// Sorted by domain, then MAC.
        macs: Vec<MacInfo>,
    },
    /// For `ShowCounters`.
    Counters {
        /// Render with [`render_prometheus`](super::render_prometheus).
        counters: Vec<CounterSet>,
    },
    /// The request was not carried out.
    Error {
        /// What kind of failure, for scripts.
        kind: ErrorKind,
        /// What went wrong, for people.
        message: String,
    },
}

impl Response {
    /// An error response.
    pub fn error(kind: ErrorKind, message: impl Into<String>) -> Response {
        Response::Error {
            kind,
            message: message.into(),
        }
    }

    /// The answer to a request the switch does not implement yet.
    pub fn unsupported(what: &str) -> Response {
        Response::error(
            ErrorKind::Unsupported,
            format!("{what} is not supported by this version of nvo"),
        )
    }
}

/// Why a request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The line was not a valid request (bad JSON, unknown command).
    BadRequest,
    /// A valid request the switch does not implement.
    Unsupported,
    /// It names a port, domain or MAC that does not exist.
    NotFound,
    /// It breaks a configuration rule; the message says which.
    Invalid,
    /// The switch could not answer (shutting down, overloaded).
    Unavailable,
}

/// Which kind of port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PortKind {
    /// vhost-user.
    Vm,
    /// Underlay.
    Uplink,
}

/// One port, for `show ports`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortInfo {
    /// Its name.
    pub name: String,
    /// VM port or uplink.
    pub kind: PortKind,
    /// The vhost-user socket or the DPDK device.
    pub device: String,
    /// Link up (uplink) or guest connected (VM port).
    pub up: bool,
    /// The domains it serves; empty for uplinks and patched ports.
    pub domains: Vec<String>,
    /// The port it is patched to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patched_to: Option<String>,
}

/// One domain, for `show domains`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainInfo {
    /// Its name.
    pub name: String,
    /// VNI / VSID.
    pub vni: u32,
    /// Encapsulation.
    pub tunnel: Tunnel,
    /// UDP destination port (none for NVGRE).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub udp_port: Option<u16>,
    /// Flood and learn.
    pub learning: bool,
    /// Its local ports.
    pub ports: Vec<String>,
    /// Head-end replication list.
    pub flood: Vec<IpAddr>,
    /// Underlay multicast group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<IpAddr>,
    /// Entries in the MAC table for this domain.
    pub macs: u64,
}

/// One remote VTEP, for `show vteps`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VtepInfo {
    /// Its underlay address.
    pub ip: IpAddr,
    /// The uplink that reaches it.
    pub uplink: String,
    /// The resolved next-hop MAC; none while ARP/ND is pending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_hop_mac: Option<MacAddr>,
    /// The next hop stopped answering ARP/ND; its last MAC is still used.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stale: bool,
    /// Domains with a mapping or flood entry toward it.
    pub domains: Vec<String>,
}

/// How a MAC entry came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MacOrigin {
    /// Learned from traffic; ages out.
    Learned,
    /// From the configuration or `add_mac`.
    Static,
    /// From the distributed mapping store.
    Distributed,
}

/// One MAC table entry, for `show macs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MacInfo {
    /// Its domain.
    pub domain: String,
    /// The address.
    pub mac: MacAddr,
    /// Local port, when it is local.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<String>,
    /// Remote VTEP, when it is remote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vtep: Option<IpAddr>,
    /// Known IP, for ARP/ND answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<IpAddr>,
    /// How it got there.
    pub origin: MacOrigin,
    /// Seconds since last seen (learned entries only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_secs: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn wire(req: &Request) -> serde_json::Value {
        serde_json::to_value(req).unwrap()
    }

    #[test]
    fn requests_are_tagged_by_cmd_in_snake_case() {
        assert_eq!(wire(&Request::ShowPorts), json!({"cmd": "show_ports"}));
        assert_eq!(
            wire(&Request::ShowMacs { domain: None }),
            json!({"cmd": "show_macs"})
        );
        assert_eq!(
            wire(&Request::ShowMacs {
                domain: Some("blue".into())
            }),
            json!({"cmd": "show_macs", "domain": "blue"})
        );
        assert_eq!(
            wire(&Request::DelMac {
                domain: "blue".into(),
                mac: MacAddr([0x52, 0x54, 0, 0, 0, 1])
            }),
            json!({"cmd": "del_mac", "domain": "blue", "mac": "52:54:00:00:00:01"})
        );
    }

    #[test]
    fn add_requests_flatten_their_spec() {
        let text = r#"{"cmd":"add_domain","name":"red","vni":6000,"tunnel":"geneve","flood":["198.18.0.2"]}"#;
        let req: Request = serde_json::from_str(text).unwrap();
        let Request::AddDomain(spec) = &req else {
            panic!("{req:?}")
        };
        assert_eq!(spec.tunnel, Some(Tunnel::Geneve));
        assert_eq!(spec.flood, vec!["198.18.0.2".parse::<IpAddr>().unwrap()]);
        assert_eq!(serde_json::from_value::<Request>(wire(&req)).unwrap(), req);
    }

    #[test]
    fn unknown_commands_and_fields_are_refused() {
        assert!(serde_json::from_str::<Request>(r#"{"cmd":"reboot"}"#).is_err());
        let extra = r#"{"cmd":"del_domain","name":"red","force":true}"#;
        assert!(serde_json::from_str::<Request>(extra).is_err());
        let extra = r#"{"cmd":"add_mac","domain":"b","mac":"02:00:00:00:00:01","vlan":3}"#;
        assert!(serde_json::from_str::<Request>(extra).is_err());
        assert!(
            serde_json::from_str::<Request>(r#"{"cmd":"del_mac","domain":"b","mac":"zz"}"#)
                .is_err()
        );
    }

    #[test]
    fn errors_carry_kind_and_message() {
        let r = Response::unsupported("adding a port");
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            json!({"result": "error", "kind": "unsupported",
                   "message": "adding a port is not supported by this version of nvo"})
        );
    }

    #[test]
    fn every_response_round_trips() {
        let responses = [
            Response::Done,
            Response::Ports {
                ports: vec![PortInfo {
                    name: "vm1".into(),
                    kind: PortKind::Vm,
                    device: "/run/nvo/vm1.sock".into(),
                    up: true,
                    domains: vec!["blue".into()],
                    patched_to: None,
                }],
            },
            Response::Domains {
                domains: vec![DomainInfo {
                    name: "green".into(),
                    vni: 7000,
                    tunnel: Tunnel::Nvgre,
                    udp_port: None,
                    learning: true,
                    ports: vec![],
                    flood: vec![],
                    group: Some("239.1.1.7".parse().unwrap()),
                    macs: 4,
                }],
            },
            Response::Vteps {
                vteps: vec![VtepInfo {
                    ip: "2001:db8::2".parse().unwrap(),
                    uplink: "up0".into(),
                    next_hop_mac: None,
                    stale: false,
                    domains: vec!["red".into()],
                }],
            },
            Response::Macs {
                macs: vec![MacInfo {
                    domain: "blue".into(),
                    mac: MacAddr([2, 0, 0, 0, 0, 9]),
                    port: None,
                    vtep: Some("198.18.0.2".parse().unwrap()),
                    ip: None,
                    origin: MacOrigin::Learned,
                    age_secs: Some(12),
                }],
            },
            Response::Counters { counters: vec![] },
        ];
        for r in responses {
            let text = serde_json::to_string(&r).unwrap();
            assert!(!text.contains('\n'), "one line per response");
            assert_eq!(serde_json::from_str::<Response>(&text).unwrap(), r);
        }
    }
}
