//! A child process whose output goes to a log file, stopped on drop, whose
//! log is printed when the test fails.

use super::{show, signal, wait_until};
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub struct Daemon {
    name: String,
    child: Child,
    log: PathBuf,
    // Held open: dpdk-testpmd exits when its standard input ends.
    stdin: Option<ChildStdin>,
    grace: Duration,
    stop_signal: &'static str,
    exited: Option<ExitStatus>,
}

impl Daemon {
    /// Spawns `cmd` with stdout and stderr to `<log_dir>/<name>.log`.
    pub fn spawn(name: &str, mut cmd: Command, log_dir: &Path) -> Daemon {
        let log = log_dir.join(format!("{name}.log"));
        std::fs::write(&log, format!("# {}\n", show(&cmd)))
            .unwrap_or_else(|e| panic!("create {}: {e}", log.display()));
        let file = OpenOptions::new()
            .append(true)
            .open(&log)
            .unwrap_or_else(|e| panic!("open {}: {e}", log.display()));
        let err = file.try_clone().expect("clone log file handle");
        cmd.stdin(Stdio::piped()).stdout(file).stderr(err);
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name} (`{}`): {e}", show(&cmd)));
        let stdin = child.stdin.take();
        Daemon {
            name: name.to_string(),
            child,
            log,
            stdin,
            grace: Duration::from_secs(5),
            stop_signal: "TERM",
            exited: None,
        }
    }

    /// How long `stop` waits after the stop signal before SIGKILL.
    pub fn with_grace(mut self, grace: Duration) -> Daemon {
        self.grace = grace;
        self
    }

    /// The signal `stop` sends first (TERM by default; tshark wants INT).
    pub fn with_stop_signal(mut self, sig: &'static str) -> Daemon {
        self.stop_signal = sig;
        self
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The log so far.
    pub fn log(&self) -> String {
        std::fs::read(&self.log)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// Ok while the process runs; its exit status and log tail once it ended.
    pub fn check_running(&mut self) -> Result<(), String> {
        if self.exited.is_none() {
            self.exited = self.child.try_wait().ok().flatten();
        }
        match self.exited {
            None => Ok(()),
            Some(st) => Err(format!(
                "{} exited ({st}); log:\n{}",
                self.name,
                self.tail(60)
            )),
        }
    }

    /// Whether the process has exited on its own (it is then reaped).
    pub fn has_exited(&mut self) -> bool {
        self.check_running().is_err()
    }

    /// Waits until the log contains `needle`; fails early if the process
    /// exits, with its log.
    pub fn wait_for_log(&mut self, needle: &str, timeout: Duration) -> Result<(), String> {
        let start = Instant::now();
        loop {
            if self.log().contains(needle) {
                return Ok(());
            }
            self.check_running()?;
            if start.elapsed() > timeout {
                return Err(format!(
                    "{}: no `{needle}` in its log after {timeout:?}; log:\n{}",
                    self.name,
                    self.tail(60)
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits at most `timeout` for the process to exit by itself.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let _ = wait_until(timeout, &self.name.clone(), || self.has_exited());
        self.exited
    }

    /// The last `lines` lines of the log.
    pub fn tail(&self, lines: usize) -> String {
        let log = self.log();
        let all: Vec<&str> = log.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Prints the log to stderr (captured by the test harness, shown when
    /// the test fails).
    pub fn dump_log(&self) {
        eprintln!(
            "----- log of {} ({}) -----\n{}\n----- end of {} -----",
            self.name,
            self.log.display(),
            self.tail(400),
            self.name
        );
    }

    /// The stop signal, then SIGKILL after the grace period; reaps the child.
    pub fn stop(&mut self) -> Option<ExitStatus> {
        if self.has_exited() {
            return self.exited;
        }
        signal(self.pid(), self.stop_signal);
        self.stdin.take();
        if self.wait_exit(self.grace).is_none() {
            let _ = self.child.kill();
            self.exited = self.child.wait().ok();
        }
        self.exited
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.dump_log();
        }
        self.stop();
    }
}
