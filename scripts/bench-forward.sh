#!/usr/bin/env bash
# vhost-user forwarding rate of nvo against dpdk-testpmd, measured in one run
# on the same path:
#
#   generator (dpdk-testpmd, two virtio-user ports, io forwarding, CPU 0)
#        |  vhost-user  |
#   switch under test (CPU 1): nvo patching its two vhost-user ports,
#                              or dpdk-testpmd io-forwarding two net_vhost ports
#
# The generator starts with 64 bursts of 64-byte frames on each port and
# forwards back whatever it receives, so frames circulate through the
# switch until the window ends. Reported: the switch's forwarding rate and
# its busy cycles per frame on the worker core (cycles of polls that
# returned frames, divided by those frames: nvo's own counter, testpmd's
# --record-core-cycles). With two CPUs the generator is often the
# bottleneck; cycles per frame is then the fair comparison.
#
# Usage: scripts/bench-forward.sh [seconds]   (default 10). Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

SECS=${1:-10}
bash scripts/setup.sh >/dev/null
NVO=$(nvo_build)
W=$(mktemp -d /tmp/nvo-bench.XXXXXX)
trap 'nvo_cleanup; rm -rf "$W"' EXIT

# Drives the generator for the window; prints its port statistics.
generate() { # prefix
    local p=$1
    NVO_PREFIXES+=("$p")
    {
        sleep 3
        echo "start tx_first 64"
        sleep 2
        echo "show port stats all"
        sleep "$SECS"
        echo "show port stats all"
        echo "stop"
        sleep 1
        echo "quit"
    } | dpdk-testpmd --lcores '0@0,1@0' --no-pci --in-memory --single-file-segments \
        --file-prefix "$p" \
        --vdev "net_virtio_user0,path=$W/a.sock,queues=1" \
        --vdev "net_virtio_user1,path=$W/b.sock,queues=1" \
        -- -i --forward-mode=io --burst=32 --txpkts=64 --no-mlockall \
        --total-num-mbufs=16384 > "$W/gen-$p.log" 2>&1
}

# The Rx-pps of the last "show port stats all", summed over both ports.
gen_pps() {
    awk '/Rx-pps:/ { pps[n++ % 2] = $2 } END { print pps[0] + pps[1] }' "$1"
}

# ---- nvo
cat > "$W/nvo.toml" <<EOF
[eal]
file_prefix = "bench-nvo"
args = ["--no-pci", "--in-memory"]
memory_mb = 512

[cpu]
control = 0
workers = [1]

[switch]
mbufs = 16383
ctl_socket = "$W/nvo.ctl"

[[vm_port]]
name = "a"
socket = "$W/a.sock"

[[vm_port]]
name = "b"
socket = "$W/b.sock"

[[patch]]
ports = ["a", "b"]
EOF
"$NVO" run --config "$W/nvo.toml" > "$W/nvo.log" 2>&1 &
NVO_PIDS+=("$!")
nvo_wait_for "$W/b.sock" 200
generate bench-gen1
kill -INT "${NVO_PIDS[-1]}"; wait "${NVO_PIDS[-1]}" || true
nvo_pps=$(gen_pps "$W/gen-bench-gen1.log")
nvo_cpp=$(awk '/busy cycles per frame/ { print $6 }' "$W/nvo.log")

# ---- dpdk-testpmd as the switch
rm -f "$W/a.sock" "$W/b.sock"
{ sleep $((SECS + 10)); echo "stop"; sleep 1; echo "quit"; } |
    dpdk-testpmd --lcores '0@0,1@1' --no-pci --in-memory --file-prefix bench-ref \
        --vdev "net_vhost0,iface=$W/a.sock,queues=1" \
        --vdev "net_vhost1,iface=$W/b.sock,queues=1" \
        -- -i --forward-mode=io --auto-start --record-core-cycles --no-mlockall \
        --total-num-mbufs=16384 > "$W/ref.log" 2>&1 &
NVO_PIDS+=("$!")
NVO_PREFIXES+=(bench-ref)
nvo_wait_for "$W/b.sock" 200
generate bench-gen2
wait "${NVO_PIDS[-1]}" || true
ref_pps=$(gen_pps "$W/gen-bench-gen2.log")
ref_cpp=$(awk -F'CPU cycles/packet=' '/CPU cycles\/packet=/ { split($2, a, " "); v = a[1] } END { print v }' "$W/ref.log")

printf '\n%-34s %14s %18s\n' "switch (one worker core, 64 B)" "frames/s" "busy cycles/frame"
printf '%-34s %14s %18s\n' "nvo run (patched vhost ports)" "$nvo_pps" "${nvo_cpp:-?}"
printf '%-34s %14s %18s\n' "dpdk-testpmd io forwarding" "$ref_pps" "${ref_cpp:-?}"
echo
echo "nvo's own account:"; sed -n '/^PORT/,$p' "$W/nvo.log"
