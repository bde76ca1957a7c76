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
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cargo test --workspace --locked 2>&1 | tee "$log" || status=$?
# One line over every test binary: libtest's "test result:" lines and the
# "N passed, M failed" lines of the DPDK test binaries.
awk '/^test result:/ { p += $4; f += $6 }
     /^[0-9]+ passed, [0-9]+ failed$/ { p += $1; f += $3 }
     END { printf "\nsummary: %d passed, %d failed\n", p, f }' "$log"
exit "$status"
