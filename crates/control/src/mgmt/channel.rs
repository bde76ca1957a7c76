//! A [`Handler`] that hands requests to the control thread over a channel,
//! so that the control thread answers them between its other duties
//! without ever waiting on a socket.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender};
use std::time::Duration;

use super::{ErrorKind, Handler, Request, Response};

/// How long a connection waits for the control thread before answering
/// `unavailable`; the control thread polls many times a second, so this
/// only fires when it is stuck or gone.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);

/// Requests queued at most before `unavailable` is answered at once.
const QUEUE_DEPTH: usize = 64;

/// The server side: give it to [`Server::start`](super::Server::start).
pub struct ChannelHandler {
    tx: SyncSender<Pending>,
}

/// The control-thread side: poll it with [`Requests::try_next`].
pub struct Requests {
    rx: Receiver<Pending>,
}

/// A request waiting for its answer.
#[derive(Debug)]
pub struct Pending {
    /// What was asked.
    pub request: Request,
    reply: Sender<Response>,
}

impl Pending {
    /// Sends the answer back; a client that has gone away is not an error.
    pub fn respond(self, response: Response) {
        let _ = self.reply.send(response);
    }
}

/// A connected pair.
pub fn channel() -> (ChannelHandler, Requests) {
    let (tx, rx) = mpsc::sync_channel(QUEUE_DEPTH);
    (ChannelHandler { tx }, Requests { rx })
}

impl Requests {
    /// The next request, if one is waiting; never blocks.
    pub fn try_next(&self) -> Option<Pending> {
        self.rx.try_recv().ok()
    }

    /// Waits up to `timeout` for a request: for a control thread with
    /// nothing else to do.
    pub fn next_timeout(&self, timeout: Duration) -> Option<Pending> {
        self.rx.recv_timeout(timeout).ok()
    }
}

impl Handler for ChannelHandler {
    fn handle(&mut self, request: Request) -> Response {
        let (reply, answer) = mpsc::channel();
        if self.tx.try_send(Pending { request, reply }).is_err() {
            return Response::error(
                ErrorKind::Unavailable,
                "the switch is not taking requests (busy or shutting down)",
            );
        }
        match answer.recv_timeout(ANSWER_TIMEOUT) {
            Ok(r) => r,
            Err(RecvTimeoutError::Timeout) => Response::error(
                ErrorKind::Unavailable,
                format!(
                    "the switch did not answer within {} s",
                    ANSWER_TIMEOUT.as_secs()
                ),
            ),
            Err(RecvTimeoutError::Disconnected) => Response::error(
                ErrorKind::Unavailable,
                "the switch dropped the request without answering",
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_thread_answers_through_the_channel() {
        let (mut h, reqs) = channel();
        assert!(reqs.try_next().is_none());
        let control = std::thread::spawn(move || {
            let p = reqs.next_timeout(Duration::from_secs(5)).unwrap();
            assert_eq!(p.request, Request::Version);
            p.respond(Response::Version {
                version: "t".into(),
            });
        });
        assert_eq!(
            h.handle(Request::Version),
            Response::Version {
                version: "t".into()
            }
        );
        control.join().unwrap();
    }

    #[test]
    fn a_gone_control_thread_is_unavailable() {
        let (mut h, reqs) = channel();
        drop(reqs);
        assert!(matches!(
            h.handle(Request::ShowPorts),
            Response::Error {
                kind: ErrorKind::Unavailable,
                ..
            }
        ));
    }

    #[test]
    fn a_dropped_request_is_unavailable() {
        let (mut h, reqs) = channel();
        let control = std::thread::spawn(move || {
            drop(reqs.next_timeout(Duration::from_secs(5)));
        });
        assert!(matches!(
            h.handle(Request::Shutdown),
            Response::Error {
                kind: ErrorKind::Unavailable,
                ..
            }
        ));
        control.join().unwrap();
    }
}
