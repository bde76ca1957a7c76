#!/usr/bin/env bash
# Sets up the machine (scripts/setup.sh) and runs every test of nvo: format
# and lint checks, the loom model of the MAC table, a short fuzzing round
# of every wire parser, then the whole cargo test suite (unit, property,
# DPDK integration and end-to-end tests). Needs root: the DPDK and
# end-to-end tests use hugepages, vhost-user sockets and network namespaces.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

step() { printf '\n== %s\n' "$*"; }

step "format"
cargo fmt --all -- --check

step "clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "loom model of the MAC table"
bash scripts/loom-table.sh

step "fuzzing every wire parser (10 s each)"
bash scripts/fuzz-packet.sh 10

# Last, so that its closing lines are the suite's verdict.
step "cargo test"
cargo test --workspace --locked
