//! Build facts for `nvo --version`: the git revision of the tree and the DPDK
//! version the switch is built against.
//!
//! A machine without libdpdk-dev fails here with one line that says how to
//! fix it, instead of deep inside bindgen.

use std::process::Command;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=PKG_CONFIG_PATH");

    let dpdk = match pkg_config::Config::new()
        .cargo_metadata(false)
        .probe("libdpdk")
    {
        Ok(lib) => lib.version,
        Err(_) => {
            println!(
                "cargo::error=libdpdk was not found by pkg-config: run scripts/setup.sh \
                 (it installs libdpdk-dev) and build again"
            );
            return;
        }
    };
    println!("cargo::rustc-env=NVO_DPDK_VERSION={dpdk}");

    let rev = git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into());
    let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
        .map(|s| !s.is_empty())
        .unwrap_or(false);
    let suffix = if dirty { "-dirty" } else { "" };
    println!("cargo::rustc-env=NVO_GIT_REV={rev}{suffix}");

    // Re-run when HEAD moves; the ref file HEAD points at changes on commit.
    if let Some(dir) = git(&["rev-parse", "--git-dir"]) {
        println!("cargo::rerun-if-changed={dir}/HEAD");
        if let Some(head_ref) = git(&["symbolic-ref", "-q", "HEAD"]) {
            println!("cargo::rerun-if-changed={dir}/{head_ref}");
        }
    }
}

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    Some(String::from_utf8(out.stdout).ok()?.trim().to_string())
}
