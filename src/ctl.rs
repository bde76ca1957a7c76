//! `nvo ctl`: one request to a running switch over its control socket,
//! the answer printed as a table (or Prometheus text for counters).

use std::net::IpAddr;
use std::path::Path;

use anyhow::{bail, Context};
use clap::Subcommand;
use nvo_control::config::MacAddr;
use nvo_control::mgmt::{self, MacSpec, Request, Response};

/// What to ask the switch.
#[derive(Subcommand, Debug)]
pub enum CtlCommand {
    /// The switch's version.
    Version,
    /// Ports, with link state.
    Ports,
    /// Domains.
    Domains,
    /// Remote VTEPs, configured and learned.
    Vteps,
    /// The MAC table.
    Macs {
        /// Only this domain.
        #[arg(long)]
        domain: Option<String>,
    },
    /// Counters, summed over workers.
    Counters {
        /// In the Prometheus text format.
        #[arg(long)]
        prometheus: bool,
    },
    /// Add a static MAC mapping.
    AddMac {
        /// Its domain.
        domain: String,
        /// The MAC address.
        mac: MacAddr,
        /// Behind this remote VTEP.
        #[arg(long, conflicts_with = "port", required_unless_present = "port")]
        vtep: Option<IpAddr>,
        /// On this local port.
        #[arg(long)]
        port: Option<String>,
        /// Its IP address.
        #[arg(long)]
        ip: Option<IpAddr>,
    },
    /// Remove a MAC mapping.
    DelMac {
        /// Its domain.
        domain: String,
        /// The MAC address.
        mac: MacAddr,
    },
    /// Re-read the configuration file; a refused file changes nothing.
    Reload,
    /// Stop the switch.
    Shutdown,
}

/// Sends `cmd` to the switch listening on `socket` and prints the answer.
pub fn ctl(socket: &Path, cmd: CtlCommand) -> anyhow::Result<()> {
    let (req, prometheus) = match cmd {
        CtlCommand::Version => (Request::Version, false),
        CtlCommand::Ports => (Request::ShowPorts, false),
        CtlCommand::Domains => (Request::ShowDomains, false),
        CtlCommand::Vteps => (Request::ShowVteps, false),
        CtlCommand::Macs { domain } => (Request::ShowMacs { domain }, false),
        CtlCommand::Counters { prometheus } => (Request::ShowCounters, prometheus),
        CtlCommand::AddMac {
            domain,
            mac,
            vtep,
            port,
            ip,
        } => (
            Request::AddMac(MacSpec {
                domain,
                mac,
                vtep,
                port,
                ip,
            }),
            false,
        ),
        CtlCommand::DelMac { domain, mac } => (Request::DelMac { domain, mac }, false),
        CtlCommand::Reload => (Request::Reload, false),
        CtlCommand::Shutdown => (Request::Shutdown, false),
    };
    let resp = mgmt::request(socket, &req).with_context(|| format!("{}", socket.display()))?;
    match (&resp, prometheus) {
        (Response::Error { kind, message }, _) => bail!("{kind:?}: {message}"),
        (Response::Counters { counters }, true) => print!("{}", mgmt::render_prometheus(counters)),
        _ => print!("{}", mgmt::render_text(&resp)),
    }
    Ok(())
}
