//! nvo: a poll-mode overlay virtual switch on DPDK.
//!
//! This binary only parses the command line and wires the crates together;
//! the switch itself lives in `crates/`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod ctl;
mod report;
mod run;
mod worker;

/// The version line: nvo's own, the tree it was built from, and the DPDK
/// release it was compiled against.
const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (git ",
    env!("NVO_GIT_REV"),
    ", DPDK ",
    env!("NVO_DPDK_VERSION"),
    ")"
);

#[derive(Parser)]
#[command(name = "nvo", version = LONG_VERSION, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the switch.
    Run {
        /// The configuration file (TOML).
        #[arg(short, long)]
        config: PathBuf,
    },
    /// Talk to a running switch over its control socket.
    Ctl {
        /// The control socket of the switch.
        #[arg(short, long, default_value = "/run/nvo/nvo.sock")]
        socket: PathBuf,
        #[command(subcommand)]
        command: ctl::CtlCommand,
    },
}

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run { config } => run::run(&config),
        Command::Ctl { socket, command } => ctl::ctl(&socket, command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("nvo: {e:#}");
            ExitCode::FAILURE
        }
    }
}
