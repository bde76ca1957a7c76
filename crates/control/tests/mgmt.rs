//! The management socket over a real Unix socket in a temporary directory.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use nvo_control::config::MacAddr;
use nvo_control::mgmt::{
    channel, request, Client, ClientError, ErrorKind, MacSpec, Request, Response, Server,
    ServerError, MAX_LINE,
};

/// A handler that answers `Version` and `ShowMacs`, and refuses the rest as
/// unsupported, as an unfinished switch would.
fn handler(req: Request) -> Response {
    match req {
        Request::Version => Response::Version {
            version: "test".into(),
        },
        Request::ShowMacs { domain } => {
            assert_eq!(domain.as_deref(), Some("blue"));
            Response::Macs { macs: vec![] }
        }
        Request::DelDomain { .. } => Response::unsupported("deleting a domain"),
        _ => Response::Done,
    }
}

/// Sends raw bytes and reads `n` response lines.
fn raw(stream: &mut UnixStream, bytes: &[u8], n: usize) -> Vec<String> {
    stream.write_all(bytes).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    (0..n)
        .map(|_| {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            line
        })
        .collect()
}

fn error_kind(r: &Response) -> Option<ErrorKind> {
    match r {
        Response::Error { kind, .. } => Some(*kind),
        _ => None,
    }
}

#[test]
fn request_and_response_over_the_socket() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nvo.sock");
    let _server = Server::start(&path, handler).unwrap();
    assert_eq!(
        request(&path, &Request::Version).unwrap(),
        Response::Version {
            version: "test".into()
        }
    );
    let macs = Request::ShowMacs {
        domain: Some("blue".into()),
    };
    assert_eq!(
        request(&path, &macs).unwrap(),
        Response::Macs { macs: vec![] }
    );
}

#[test]
fn unimplemented_requests_answer_unsupported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nvo.sock");
    let _server = Server::start(&path, handler).unwrap();
    let r = request(&path, &Request::DelDomain { name: "red".into() }).unwrap();
    assert_eq!(error_kind(&r), Some(ErrorKind::Unsupported));
}

#[test]
fn one_connection_carries_many_requests() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nvo.sock");
    let _server = Server::start(&path, handler).unwrap();
    let mut client = Client::connect(&path).unwrap();
    for _ in 0..3 {
        assert!(matches!(
            client.call(&Request::Version).unwrap(),
            Response::Version { .. }
        ));
    }
    let add = Request::AddMac(MacSpec {
        domain: "blue".into(),
        mac: "52:54:00:00:00:01".parse().unwrap(),
        vtep: Some("198.18.0.2".parse().unwrap()),
        port: None,
        ip: None,
    });
    assert_eq!(client.call(&add).unwrap(), Response::Done);
}

#[test]
fn malformed_json_is_answered_and_the_connection_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nvo.sock");
    let _server = Server::start(&path, handler).unwrap();
    let mut s = UnixStream::connect(&path).unwrap();
    let lines = raw(
        &mut s,
        b"{not json\n\n{\"cmd\":\"fly\"}\n{\"cmd\":\"version\"}\n",
        3,
    );
    let r: Vec<Response> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(error_kind(&r[0]), Some(ErrorKind::BadRequest));
    // The blank line got no answer; the unknown command did.
    assert_eq!(error_kind(&r[1]), Some(ErrorKind::BadRequest));
    assert!(lines[1].contains("fly"), "{}", lines[1]);
    assert_eq!(
        r[2],
        Response::Version {
            version: "test".into()
        }
    );
}

#[test]
fn a_last_request_without_newline_is_answered() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nvo.sock");
    let _server = Server::start(&path, handler).unwrap();
    let mut s = UnixStream::connect(&path).unwrap();
    s.write_all(b"{\"cmd\":\"version\"}").unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let mut answer = String::new();
    BufReader::new(s).read_line(&mut answer).unwrap();
    assert!(answer.contains("\"result\":\"version\""), "{answer}");
}

#[test]
fn an_endless_line_is_refused_and_closed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nvo.sock");
    let _server = Server::start(&path, handler).unwrap();
    let mut s = UnixStream::connect(&path).unwrap();
    let mut reader = BufReader::new(s.try_clone().unwrap());
    // The server may close while we are still writing: ignore that error.
    let _ = s.write_all(&vec![b' '; MAX_LINE + 10]);
    let mut answer = String::new();
    reader.read_line(&mut answer).unwrap();
    let r: Response = serde_json::from_str(&answer).unwrap();
    assert_eq!(error_kind(&r), Some(ErrorKind::BadRequest));
    answer.clear();
    assert_eq!(
        reader.read_line(&mut answer).unwrap(),
        0,
        "connection closed"
    );
}

#[test]
fn absent_socket_says_nvo_is_not_running() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nvo.sock");
    let e = request(&path, &Request::Version).unwrap_err();
    assert!(matches!(e, ClientError::NotRunning { .. }));
    assert_eq!(
        e.to_string(),
        format!("nvo is not running (no socket at {})", path.display())
    );
}

/// Leaves a socket file that nobody listens on, as a crash would.
fn stale_socket(path: &Path) {
    drop(UnixListener::bind(path).unwrap());
    assert!(path.exists());
}

#[test]
fn stale_socket_is_reported_by_the_client_and_replaced_by_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nvo.sock");
    stale_socket(&path);
    let e = request(&path, &Request::Version).unwrap_err();
    assert!(matches!(e, ClientError::Stale { .. }), "{e}");
    assert!(e.to_string().starts_with("nvo is not running"), "{e}");

    let _server = Server::start(&path, handler).unwrap();
    assert!(request(&path, &Request::Version).is_ok());
}

#[test]
fn socket_is_removed_on_drop() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run/nvo/nvo.sock");
    let server = Server::start(&path, handler).unwrap();
    assert_eq!(server.path(), path);
    assert!(path.exists(), "directories are created");
    drop(server);
    assert!(!path.exists());
}

#[test]
fn a_live_socket_is_not_stolen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nvo.sock");
    let _first = Server::start(&path, handler).unwrap();
    let e = Server::start(&path, handler).err().unwrap();
    assert!(matches!(e, ServerError::AlreadyRunning { .. }), "{e}");
    assert!(request(&path, &Request::Version).is_ok());
}

#[test]
fn a_file_that_is_not_a_socket_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nvo.sock");
    std::fs::write(&path, "precious").unwrap();
    let e = Server::start(&path, handler).err().unwrap();
    assert!(matches!(e, ServerError::NotASocket { .. }), "{e}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "precious");
}

#[test]
fn a_control_thread_answers_through_the_channel_handler() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nvo.sock");
    let (h, requests) = channel();
    let server = Server::start(&path, h).unwrap();
    let (done_tx, done_rx) = mpsc::channel();
    // The control loop: polls between its other duties, never blocks.
    let control = thread::spawn(move || loop {
        if let Some(p) = requests.try_next() {
            let stop = p.request == Request::Shutdown;
            p.respond(Response::Done);
            if stop {
                done_tx.send(()).unwrap();
                return;
            }
        }
        thread::sleep(Duration::from_millis(1));
    });
    assert_eq!(request(&path, &Request::ShowPorts).unwrap(), Response::Done);
    assert_eq!(request(&path, &Request::Shutdown).unwrap(), Response::Done);
    done_rx.recv_timeout(Duration::from_secs(5)).unwrap();
    control.join().unwrap();
    drop(server);
    assert!(!path.exists());
}

#[test]
fn mac_addresses_travel_as_text() {
    let mac: MacAddr = "52:54:00:AB:cd:01".parse().unwrap();
    assert_eq!(
        serde_json::to_string(&mac).unwrap(),
        "\"52:54:00:ab:cd:01\""
    );
}

/// A handler of the caller's own type, with state.
struct Counting {
    calls: u64,
}

impl nvo_control::mgmt::Handler for Counting {
    fn handle(&mut self, _req: Request) -> Response {
        self.calls += 1;
        Response::Version {
            version: self.calls.to_string(),
        }
    }
}

#[test]
fn concurrent_clients_are_served_one_request_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nvo.sock");
    let _server = Server::start(&path, Counting { calls: 0 }).unwrap();
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let path = path.clone();
            thread::spawn(move || {
                let mut c = Client::connect(&path).unwrap();
                (0..20)
                    .map(|_| match c.call(&Request::Version).unwrap() {
                        Response::Version { version } => version.parse::<u64>().unwrap(),
                        r => panic!("{r:?}"),
                    })
                    .collect::<Vec<u64>>()
            })
        })
        .collect();
    let mut seen: Vec<u64> = clients
        .into_iter()
        .flat_map(|c| c.join().unwrap())
        .collect();
    seen.sort_unstable();
    // Every call saw a distinct count: no two ran at once, none was lost.
    assert_eq!(seen, (1..=80).collect::<Vec<u64>>());
}
