//! A private etcd (Debian 12: 3.4) for mapping-store tests.

use super::{require_tools, Daemon, Netns};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

pub struct Etcd {
    daemon: Daemon,
    client_url: String,
    addr: String,
    in_root_ns: bool,
}

/// A TCP port free on 127.0.0.1 right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind 127.0.0.1:0")
}

impl Etcd {
    /// etcd on 127.0.0.1 of the root namespace, on free ports, data under
    /// `dir`; returns once /health says true (at most 30 s).
    pub fn start(dir: &Path) -> Etcd {
        let (c, p) = (free_port(), free_port());
        Self::launch(None, "127.0.0.1", c, p, dir)
    }

    /// etcd inside `ns` listening on `ip` (an address of that namespace,
    /// e.g. 127.0.0.1 or a management veth's), ports 2379/2380 (the
    /// namespace is private). Ready when its log says so; the HTTP helpers
    /// below only work from the root namespace.
    pub fn start_in(ns: &Netns, ip: &str, dir: &Path) -> Etcd {
        Self::launch(Some(ns), ip, 2379, 2380, dir)
    }

    fn launch(ns: Option<&Netns>, ip: &str, client: u16, peer: u16, dir: &Path) -> Etcd {
        require_tools(&["etcd"]);
        let id = super::next_id();
        let data = dir.join(format!("etcd-{id}"));
        let client_url = format!("http://{ip}:{client}");
        let peer_url = format!("http://{ip}:{peer}");
        let mut c = match ns {
            Some(ns) => ns.cmd("etcd"),
            None => std::process::Command::new("etcd"),
        };
        c.arg("--name=nvo-test")
            .arg(format!("--data-dir={}", data.display()))
            .arg(format!("--listen-client-urls={client_url}"))
            .arg(format!("--advertise-client-urls={client_url}"))
            .arg(format!("--listen-peer-urls={peer_url}"))
            .arg(format!("--initial-advertise-peer-urls={peer_url}"))
            .arg(format!("--initial-cluster=nvo-test={peer_url}"))
            .arg("--initial-cluster-state=new")
            .args(["--logger=zap", "--log-outputs=stderr"]);
        let mut daemon = Daemon::spawn(&format!("etcd-{id}"), c, dir);
        daemon
            .wait_for_log("serving client traffic", Duration::from_secs(30))
            .unwrap_or_else(|e| panic!("{e}"));
        let etcd = Etcd {
            daemon,
            client_url,
            addr: format!("{ip}:{client}"),
            in_root_ns: ns.is_none(),
        };
        if etcd.in_root_ns {
            let start = Instant::now();
            while !etcd.healthy() {
                assert!(
                    start.elapsed() < Duration::from_secs(30),
                    "etcd never became healthy"
                );
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        etcd
    }

    /// The URL clients use (`--endpoints` of etcdctl, nvo's configuration).
    pub fn client_url(&self) -> &str {
        &self.client_url
    }

    pub fn daemon(&mut self) -> &mut Daemon {
        &mut self.daemon
    }

    /// One HTTP/1.0 request to etcd's client port: (status, body).
    fn http(&self, method: &str, path: &str, body: &str) -> Result<(u16, String), String> {
        assert!(
            self.in_root_ns,
            "etcd HTTP helpers work from the root namespace only"
        );
        let mut s =
            TcpStream::connect(&self.addr).map_err(|e| format!("connect {}: {e}", self.addr))?;
        s.set_read_timeout(Some(Duration::from_secs(5))).ok();
        let req = format!(
            "{method} {path} HTTP/1.0\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.addr,
            body.len()
        );
        s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
        let mut resp = String::new();
        s.read_to_string(&mut resp).map_err(|e| e.to_string())?;
        let status = resp
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let body = resp
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        Ok((status, body))
    }

    /// GET /health says `"health":"true"`.
    pub fn healthy(&self) -> bool {
        matches!(self.http("GET", "/health", ""), Ok((200, b)) if b.contains("\"health\":\"true\""))
    }

    /// Puts a key through the v3 JSON gateway.
    pub fn put(&self, key: &str, value: &str) {
        let body = format!(
            "{{\"key\":\"{}\",\"value\":\"{}\"}}",
            b64(key.as_bytes()),
            b64(value.as_bytes())
        );
        let (st, b) = self
            .http("POST", "/v3/kv/put", &body)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(st, 200, "etcd put {key}: {b}");
    }

    /// Gets a key's value through the v3 JSON gateway.
    pub fn get(&self, key: &str) -> Option<String> {
        let body = format!("{{\"key\":\"{}\"}}", b64(key.as_bytes()));
        let (st, b) = self
            .http("POST", "/v3/kv/range", &body)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(st, 200, "etcd get {key}: {b}");
        let v = b.split("\"value\":\"").nth(1)?.split('"').next()?;
        Some(String::from_utf8_lossy(&unb64(v)).into_owned())
    }

    /// Deletes a key through the v3 JSON gateway.
    pub fn delete(&self, key: &str) {
        let body = format!("{{\"key\":\"{}\"}}", b64(key.as_bytes()));
        let (st, b) = self
            .http("POST", "/v3/kv/deleterange", &body)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(st, 200, "etcd delete {key}: {b}");
    }
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding (the gateway's encoding of bytes).
pub fn b64(data: &[u8]) -> String {
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

pub fn unb64(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in text.bytes().filter(|&c| c != b'=') {
        let Some(v) = B64.iter().position(|&x| x == c) else {
            continue;
        };
        acc = acc << 6 | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}
