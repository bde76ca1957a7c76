#!/usr/bin/env bash
# Runs the loom models of nvo-table's reader/writer protocol
# (crates/table/tests/loom.rs). About a minute, most of it compiling.
# Extra arguments go to the test binary, e.g. a test name to run one model.
set -euo pipefail
cd "$(dirname "$0")/.."
export RUSTFLAGS="${RUSTFLAGS:-} --cfg loom"
# loom's own knobs (LOOM_MAX_PREEMPTIONS, LOOM_LOG, ...) pass through.
exec cargo test -p nvo-table --release --test loom -- "$@"
