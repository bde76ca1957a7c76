#!/usr/bin/env bash
# Fuzzes every nvo-packet parser and decapsulation for a bounded time each.
#
#   scripts/fuzz-packet.sh [seconds-per-target] [target...]
#
# Installs cargo-fuzz if it is missing. The machine has only stable Rust,
# so RUSTC_BOOTSTRAP=1 lets cargo-fuzz pass its -Z sanitizer flags. The
# corpus is seeded from the scapy fixtures. Prints executions per target
# and exits non-zero if any target found a crash (saved under
# crates/packet/fuzz/artifacts/<target>/).
set -euo pipefail

secs="${1:-20}"
shift || true
root="$(cd "$(dirname "$0")/.." && pwd)"
fuzz="$root/crates/packet/fuzz"
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="$fuzz/target"

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

cd "$fuzz"
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
    mapfile -t targets < <(cargo fuzz list)
fi

# Seed each corpus with the fixture frames (decap and reply take a
# leading knob byte, so they get one prepended).
python3 - "$root/crates/packet/tests/fixtures/fixtures.txt" "$fuzz/corpus" "${targets[@]}" <<'PY'
import os, sys
fixtures, corpus, targets = sys.argv[1], sys.argv[2], sys.argv[3:]
frames = [l.split() for l in open(fixtures) if l.strip() and not l.startswith("#")]
for t in targets:
    d = os.path.join(corpus, t)
    os.makedirs(d, exist_ok=True)
    for name, hexbytes in frames:
        b = bytes.fromhex(hexbytes)
        if t in ("decap", "reply"):
            b = b"\xff" + b
        elif t not in ("ethernet", "flow_hash"):
            b = b[14:]  # the parsers below Ethernet start at L3
        open(os.path.join(d, name), "wb").write(b)
PY

cargo fuzz build -O
status=0
for t in "${targets[@]}"; do
    log="$fuzz/target/fuzz-$t.log"
    if cargo fuzz run -O "$t" -- -max_total_time="$secs" -max_len=2048 >"$log" 2>&1; then
        result="ok"
    else
        result="CRASH (see $log and $fuzz/artifacts/$t/)"
        status=1
    fi
    runs="$(grep -Eo 'Done [0-9]+ runs' "$log" | grep -Eo '[0-9]+' || echo '?')"
    cov="$(grep -Eo 'cov: [0-9]+' "$log" | tail -1 | grep -Eo '[0-9]+' || echo '?')"
    printf '%-10s %12s executions  cov %5s  %s\n' "$t" "$runs" "$cov" "$result"
done
exit "$status"
