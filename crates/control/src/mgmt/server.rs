//! The listening side of the management socket.

use std::fs;
use std::io::{self, BufRead, BufReader, ErrorKind as IoKind, Read, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use super::{ErrorKind, Handler, Request, Response};

/// The longest request line accepted, newline included; a longer one is
/// answered with an error and the connection closed, since the rest of it
/// cannot be told apart from the next request.
pub const MAX_LINE: usize = 64 * 1024;

/// Connections served at once; more are answered `unavailable` and closed.
pub const MAX_CONNECTIONS: usize = 16;

/// How often idle threads look at the stop flag: bounds how long dropping
/// the server takes.
const POLL: Duration = Duration::from_millis(50);

/// Why the management socket could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// A live server answers on the path: a second nvo with the same
    /// `ctl_socket`.
    #[error("another nvo is already listening on {}", path.display())]
    AlreadyRunning {
        /// The socket path.
        path: PathBuf,
    },
    /// The path holds something else than a socket, which is not ours to
    /// remove.
    #[error("{} exists and is not a socket; not removing it", path.display())]
    NotASocket {
        /// The path.
        path: PathBuf,
    },
    /// Creating the directory, removing a stale socket or binding failed.
    #[error("cannot listen on {}: {source}", path.display())]
    Io {
        /// The socket path.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: io::Error,
    },
}

/// A running management server. Dropping it stops the threads and removes
/// the socket (if it is still the one it created).
pub struct Server {
    path: PathBuf,
    /// Device and inode of the socket we bound, so that drop never removes
    /// a socket another instance has since created at the same path.
    identity: (u64, u64),
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

type Shared = Arc<Mutex<Box<dyn Handler>>>;

impl Server {
    /// Removes a stale socket at `path` (one nobody answers on), creates
    /// its directory if needed, binds, and starts accepting on a thread of
    /// its own. The socket is readable and writable by its owner only.
    pub fn start(
        path: impl AsRef<Path>,
        handler: impl Handler + 'static,
    ) -> Result<Server, ServerError> {
        let path = path.as_ref().to_path_buf();
        let io_err = |source| ServerError::Io {
            path: path.clone(),
            source,
        };
        remove_stale(&path)?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(io_err)?;
        }
        let listener = UnixListener::bind(&path).map_err(io_err)?;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).map_err(io_err)?;
        let meta = fs::symlink_metadata(&path).map_err(io_err)?;
        // Nonblocking so that the accept loop can notice the stop flag.
        listener.set_nonblocking(true).map_err(io_err)?;

        let stop = Arc::new(AtomicBool::new(false));
        let handler: Shared = Arc::new(Mutex::new(Box::new(handler)));
        let accept = {
            let stop = stop.clone();
            thread::Builder::new()
                .name("nvo-ctl".into())
                .spawn(move || accept_loop(listener, handler, stop))
                .map_err(io_err)?
        };
        log::info!("management socket listening on {}", path.display());
        Ok(Server {
            path,
            identity: (meta.dev(), meta.ino()),
            stop,
            accept: Some(accept),
        })
    }

    /// The socket path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
        if let Ok(m) = fs::symlink_metadata(&self.path) {
            if (m.dev(), m.ino()) == self.identity {
                let _ = fs::remove_file(&self.path);
            }
        }
        log::info!("management socket {} closed", self.path.display());
    }
}

/// A socket file nobody listens on is left over from a crash: remove it.
/// A live one, or a file that is not a socket, is left alone.
fn remove_stale(path: &Path) -> Result<(), ServerError> {
    let meta = match fs::symlink_metadata(path) {
        Err(e) if e.kind() == IoKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(ServerError::Io {
                path: path.into(),
                source,
            })
        }
        Ok(m) => m,
    };
    if !meta.file_type().is_socket() {
        return Err(ServerError::NotASocket { path: path.into() });
    }
    if UnixStream::connect(path).is_ok() {
        return Err(ServerError::AlreadyRunning { path: path.into() });
    }
    log::info!("removing stale management socket {}", path.display());
    fs::remove_file(path).map_err(|source| ServerError::Io {
        path: path.into(),
        source,
    })
}

fn accept_loop(listener: UnixListener, handler: Shared, stop: Arc<AtomicBool>) {
    let mut conns: Vec<JoinHandle<()>> = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((stream, _)) => {
                conns.retain(|c| !c.is_finished());
                if conns.len() >= MAX_CONNECTIONS {
                    refuse(stream);
                    continue;
                }
                let (handler, stop) = (handler.clone(), stop.clone());
                match thread::Builder::new()
                    .name("nvo-ctl-conn".into())
                    .spawn(move || serve(stream, handler, stop))
                {
                    Ok(t) => conns.push(t),
                    Err(e) => log::warn!("management connection dropped: {e}"),
                }
            }
            Err(e) if e.kind() == IoKind::WouldBlock => thread::sleep(POLL),
            Err(e) if e.kind() == IoKind::Interrupted => {}
            Err(e) => {
                // EMFILE and the like: wait rather than spin.
                log::warn!("management socket accept failed: {e}");
                thread::sleep(POLL);
            }
        }
    }
    for c in conns {
        let _ = c.join();
    }
}

fn refuse(mut stream: UnixStream) {
    let _ = stream.set_nonblocking(false);
    let r = Response::error(
        ErrorKind::Unavailable,
        format!("too many management connections (at most {MAX_CONNECTIONS})"),
    );
    let _ = write_response(&mut stream, &r);
}

/// Serves one connection: a response for every non-blank line, in order,
/// until the client closes, a write fails, or the server stops.
fn serve(stream: UnixStream, handler: Shared, stop: Arc<AtomicBool>) {
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    if stream.set_nonblocking(false).is_err() || stream.set_read_timeout(Some(POLL)).is_err() {
        return;
    }
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        // Never buffer more than one line's worth, whatever the client sends.
        let room = (MAX_LINE + 1).saturating_sub(line.len()) as u64;
        let eof = match (&mut reader).take(room).read_until(b'\n', &mut line) {
            Ok(0) => true,
            Ok(_) => false,
            Err(e)
                if matches!(
                    e.kind(),
                    IoKind::WouldBlock | IoKind::TimedOut | IoKind::Interrupted
                ) =>
            {
                continue
            }
            Err(_) => return,
        };
        let complete = line.ends_with(b"\n") || (eof && !line.is_empty());
        if !complete && line.len() > MAX_LINE {
            let r = Response::error(
                ErrorKind::BadRequest,
                format!("request longer than {MAX_LINE} bytes; closing"),
            );
            let _ = write_response(&mut writer, &r);
            return;
        }
        if complete {
            if let Some(r) = answer(&line, &handler) {
                if write_response(&mut writer, &r).is_err() {
                    return;
                }
            }
            line.clear();
        }
        if eof {
            return;
        }
    }
}

/// The response to one line, or `None` for a blank one.
fn answer(line: &[u8], handler: &Shared) -> Option<Response> {
    let text = line.trim_ascii();
    if text.is_empty() {
        return None;
    }
    let req = match serde_json::from_slice::<Request>(text) {
        Ok(req) => req,
        Err(e) => {
            return Some(Response::error(
                ErrorKind::BadRequest,
                format!("not a request: {e}"),
            ))
        }
    };
    log::debug!("management request: {req:?}");
    // A handler that panicked once must not take the socket down with it.
    let mut h = handler
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    Some(h.handle(req))
}

fn write_response(w: &mut UnixStream, r: &Response) -> io::Result<()> {
    let mut text = serde_json::to_string(r).map_err(io::Error::other)?;
    text.push('\n');
    w.write_all(text.as_bytes())
}
