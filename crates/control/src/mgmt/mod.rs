//! The management socket: `nvo ctl` sends one JSON [`Request`] per line
//! over a Unix stream socket and reads one JSON [`Response`] per line.
//!
//! The [`Server`] accepts on a thread of its own and serves each connection
//! on its own short-lived thread: this is the control path, a handful of
//! operators and scrapers at most, so plain blocking threads are simpler
//! than an async runtime and cost nothing on the data path.
//!
//! Requests are answered by a [`Handler`], called by one connection at a
//! time. The switch's handler is normally a [`ChannelHandler`]: it passes
//! each request to the control thread, which stays the only writer of the
//! switch's state and picks requests up between its other duties with
//! [`Requests::try_next`], never blocking on the socket.

mod channel;
mod client;
mod counters;
mod protocol;
mod server;
mod text;
mod view;

pub use channel::{channel, ChannelHandler, Pending, Requests};
pub use client::{request, Client, ClientError};
pub use counters::{render_prometheus, CounterSet, MetricKind, Sample};
pub use protocol::*;
pub use server::{Server, ServerError, MAX_CONNECTIONS, MAX_LINE};
pub use text::render_text;
pub use view::{domains_of, ports_of, static_macs_of, vteps_of};

/// Answers requests. Called from the server's connection threads, one
/// request at a time (the server serialises calls), so an implementation
/// needs no locking of its own.
pub trait Handler: Send {
    /// The response to one request; failures are `Response::Error`.
    fn handle(&mut self, req: Request) -> Response;
}

impl<F: FnMut(Request) -> Response + Send> Handler for F {
    fn handle(&mut self, req: Request) -> Response {
        self(req)
    }
}
