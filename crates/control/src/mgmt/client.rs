//! The `nvo ctl` side of the management socket.

use std::io::{self, BufRead, BufReader, ErrorKind as IoKind, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{Request, Response};

/// How long to wait for an answer; a reload of a large file is the slowest.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Why `nvo ctl` got no response.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Nothing at the socket path.
    #[error("nvo is not running (no socket at {})", path.display())]
    NotRunning {
        /// The socket path.
        path: PathBuf,
    },
    /// A socket file is there but nobody listens: left by a crashed nvo.
    #[error("nvo is not running ({} is a stale socket, nobody listens on it)", path.display())]
    Stale {
        /// The socket path.
        path: PathBuf,
    },
    /// Connecting, writing or reading failed otherwise (permissions,
    /// timeout).
    #[error("talking to nvo on {}: {source}", path.display())]
    Io {
        /// The socket path.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: io::Error,
    },
    /// nvo closed the connection before answering.
    #[error("nvo closed the connection on {} without answering", path.display())]
    Closed {
        /// The socket path.
        path: PathBuf,
    },
    /// The answer was not a response: a version mismatch, most likely.
    #[error("nvo answered something that is not a response ({0})")]
    BadResponse(String),
}

/// A connection to a running nvo, for several requests in a row.
pub struct Client {
    path: PathBuf,
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Client {
    /// Connects to the management socket at `path`.
    pub fn connect(path: impl AsRef<Path>) -> Result<Client, ClientError> {
        let path = path.as_ref().to_path_buf();
        let stream = UnixStream::connect(&path).map_err(|source| match source.kind() {
            IoKind::NotFound => ClientError::NotRunning { path: path.clone() },
            IoKind::ConnectionRefused => ClientError::Stale { path: path.clone() },
            _ => ClientError::Io {
                path: path.clone(),
                source,
            },
        })?;
        let io_err = |source| ClientError::Io {
            path: path.clone(),
            source,
        };
        stream.set_read_timeout(Some(TIMEOUT)).map_err(io_err)?;
        stream.set_write_timeout(Some(TIMEOUT)).map_err(io_err)?;
        let writer = stream.try_clone().map_err(io_err)?;
        Ok(Client {
            path,
            reader: BufReader::new(stream),
            writer,
        })
    }

    /// Sends one request and waits for its response.
    pub fn call(&mut self, req: &Request) -> Result<Response, ClientError> {
        let mut line =
            serde_json::to_string(req).map_err(|e| ClientError::BadResponse(e.to_string()))?;
        line.push('\n');
        self.writer
            .write_all(line.as_bytes())
            .map_err(|source| self.io(source))?;
        let mut answer = String::new();
        let n = self
            .reader
            .read_line(&mut answer)
            .map_err(|source| self.io(source))?;
        if n == 0 {
            return Err(ClientError::Closed {
                path: self.path.clone(),
            });
        }
        serde_json::from_str(&answer).map_err(|e| ClientError::BadResponse(e.to_string()))
    }

    fn io(&self, source: io::Error) -> ClientError {
        ClientError::Io {
            path: self.path.clone(),
            source,
        }
    }
}

/// Connects, sends `req`, and returns the response: one `nvo ctl` command.
pub fn request(path: impl AsRef<Path>, req: &Request) -> Result<Response, ClientError> {
    Client::connect(path)?.call(req)
}
