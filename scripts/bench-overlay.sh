#!/usr/bin/env bash
# Encapsulation and decapsulation with one nvo worker, 64-byte inner
# frames, side by side with dpdk-testpmd io forwarding on the same path,
# measured in the same run. Needs root.
#
#   encap: generator (testpmd txonly, virtio-user, CPU 0) -> vhost-user ->
#          switch (CPU 1) -> uplink net_null (the fastest "NIC": tx frees)
#          nvo: VXLAN over IPv4 toward a static remote MAC, flow hash per frame
#   decap: uplink net_pcap replaying VXLAN packets for us (infinite_rx) ->
#          switch (CPU 1) -> vhost-user -> sink (testpmd rxonly, CPU 0)
#
# The reference testpmd forwards the same frames on the same ports without
# touching them. Reported: frames/s out of the switch, and busy cycles per
# frame on the worker core (cycles of polls that returned frames / frames):
# with two CPUs the generator or the vhost peer is often the bottleneck,
# and cycles per frame is then the fair comparison.
#
# Usage: scripts/bench-overlay.sh [seconds]   (default 10)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

SECS=${1:-10}
bash scripts/setup.sh >/dev/null
NVO=$(nvo_build)
W=$(mktemp -d /tmp/nvo-bench-overlay.XXXXXX)
trap 'nvo_cleanup; [ -n "${NVO_KEEP:-}" ] || rm -rf "$W"' EXIT

VM_MAC=52:54:00:00:00:01     # the VM behind nvo
REMOTE_MAC=02:00:00:00:00:aa # a VM behind the remote VTEP
HOP_MAC=02:00:00:00:00:02    # the remote VTEP (configured neighbour)

# VXLAN packets from 198.18.0.2 to us, VNI 5000, 64-byte inner frames for
# the VM, from 64 inner flows.
/usr/bin/python3 - "$W/vxlan.pcap" <<'EOF'
import sys
from scapy.all import Ether, IP, UDP, wrpcap, raw
from scapy.layers.vxlan import VXLAN
pkts = []
for i in range(64):
    inner = Ether(dst="52:54:00:00:00:01", src="02:00:00:00:00:aa") / \
        IP(src="10.0.0.2", dst="10.0.0.1") / UDP(sport=1024 + i, dport=9) / (b"\0" * 18)
    assert len(raw(inner)) == 60
    pkts.append(Ether(dst="02:00:00:00:00:01", src="02:00:00:00:00:02") /
                IP(src="198.18.0.2", dst="198.18.0.1", flags="DF", ttl=64) /
                UDP(sport=49152 + i, dport=4789, chksum=0) / VXLAN(vni=5000, flags=0x08) / inner)
wrpcap(sys.argv[1], pkts)
EOF

nvo_config() { # uplink-device
    cat <<EOF
[eal]
file_prefix = "bench-ov-nvo"
args = ["--no-pci", "--in-memory"]
memory_mb = 512

[cpu]
control = 0
workers = [1]

[switch]
mbufs = 16383
ctl_socket = "$W/nvo.ctl"

[[uplink]]
name = "up"
device = "$1"
ipv4 = "198.18.0.1/24"
neighbors = { "198.18.0.2" = "$HOP_MAC" }

[[domain]]
name = "blue"
vni = 5000
learning = false
flood = []

[[vm_port]]
name = "vm"
socket = "$W/vm.sock"
domain = "blue"

[[mac]]
domain = "blue"
mac = "$REMOTE_MAC"
vtep = "198.18.0.2"

[[mac]]
domain = "blue"
mac = "$VM_MAC"
port = "vm"
EOF
}

# The value of a metric (summed over label sets) from nvo's counters.
metric() { # name [label-filter]
    "$NVO" ctl --socket "$W/nvo.ctl" counters --prometheus |
        awk -v m="$1" -v f="${2:-}" '$1 ~ "^"m"([{]|$)" && (f == "" || index($1, f)) { s += $2 } END { printf "%.0f\n", s }'
}

# Runs the VM-side testpmd for the window: txonly to REMOTE_MAC, or rxonly.
vm_side() { # mode prefix
    NVO_PREFIXES+=("$2")
    { sleep $((SECS + 6)); echo quit; } |
        dpdk-testpmd --lcores '0@0,1@0' --no-pci --in-memory --single-file-segments \
            --file-prefix "$2" --vdev "net_virtio_user0,path=$W/vm.sock,queues=1" \
            -- -i --forward-mode="$1" --port-topology=loop --eth-peer="0,$REMOTE_MAC" \
            --txpkts=64 --burst=32 --auto-start --no-mlockall --total-num-mbufs=16384 \
            > "$W/vm-$2.log" 2>&1 &
    NVO_PIDS+=("$!")
}

# nvo: rate of frames out of `port` and busy cycles per frame, over the window.
measure_nvo() { # out-port
    sleep 4
    local f0 c0 b0 f1 c1 b1
    f0=$(metric nvo_port_tx_frames_total "port=\"$1\"")
    c0=$(metric nvo_busy_cycles_total); b0=$(metric nvo_busy_frames_total)
    sleep "$SECS"
    f1=$(metric nvo_port_tx_frames_total "port=\"$1\"")
    c1=$(metric nvo_busy_cycles_total); b1=$(metric nvo_busy_frames_total)
    echo "$(( (f1 - f0) / SECS )) $(awk -v c=$((c1 - c0)) -v b=$((b1 - b0)) 'BEGIN { if (b) printf "%.1f", c / b; else print "?" }')"
}

run_nvo() { # case uplink-device out-port vm-mode
    nvo_config "$2" > "$W/$1.toml"
    rm -f "$W/vm.sock"
    "$NVO" run --config "$W/$1.toml" > "$W/nvo-$1.log" 2>&1 &
    local pid=$!
    NVO_PIDS+=("$pid")
    nvo_wait_for "$W/vm.sock" 600 || exit 1
    vm_side "$4" "bench-ov-vm-$1"
    local r; r=$(measure_nvo "$3")
    kill -INT "$pid"; wait "$pid" || true
    wait "${NVO_PIDS[-1]}" 2>/dev/null || true
    echo "$r"
}

# testpmd io forwarding between the same two ports: port 0 is the vhost
# port, port 1 the uplink. Its Tx-pps on the output port is averaged over
# the same steady window as nvo's rate.
run_ref() { # case uplink-vdev vm-mode out-port
    rm -f "$W/vm.sock"
    NVO_PREFIXES+=("bench-ov-ref-$1")
    { sleep 6; echo "show port stats all"; sleep "$SECS"; echo "show port stats all"
      echo stop; sleep 1; echo quit; } |
        dpdk-testpmd --lcores '0@0,1@1' --no-pci --in-memory --file-prefix "bench-ov-ref-$1" \
            --vdev "net_vhost0,iface=$W/vm.sock,queues=1" --vdev "$2" \
            -- -i --forward-mode=io --auto-start --record-core-cycles --no-mlockall \
            --total-num-mbufs=16384 > "$W/ref-$1.log" 2>&1 &
    local pid=$!
    NVO_PIDS+=("$pid")
    nvo_wait_for "$W/vm.sock" 600 || exit 1
    vm_side "$3" "bench-ov-vmref-$1"
    wait "$pid" || true
    wait "${NVO_PIDS[-1]}" 2>/dev/null || true
    awk -v out="$4" '
        /NIC statistics for port/ { match($0, /port [0-9]+/); port = substr($0, RSTART + 5, RLENGTH - 5) + 0 }
        /Tx-pps:/ && port == out { pps = $2 }
        /CPU cycles\/packet=/ { split($0, a, "CPU cycles/packet="); split(a[2], b, " "); cpp = b[1] }
        END { print pps, (cpp == "" ? "?" : cpp) }' "$W/ref-$1.log"
}

enc_nvo=$(run_nvo encap "net_null0,no-rx=1" up txonly)
dec_nvo=$(run_nvo decap "net_pcap0,rx_pcap=$W/vxlan.pcap,infinite_rx=1" vm rxonly)
enc_ref=$(run_ref encap "net_null0,no-rx=1" txonly 1)
dec_ref=$(run_ref decap "net_pcap0,rx_pcap=$W/vxlan.pcap,infinite_rx=1" rxonly 0)

printf '\n%-44s %12s %18s\n' "one worker core, 64-byte inner frames" "frames/s" "busy cycles/frame"
printf '%-44s %12s %18s\n' "nvo encap (VXLAN/IPv4, flow hash)" $enc_nvo
printf '%-44s %12s %18s\n' "dpdk-testpmd io, same path (vhost -> null)" $enc_ref
printf '%-44s %12s %18s\n' "nvo decap (VXLAN/IPv4, lookup, deliver)" $dec_nvo
printf '%-44s %12s %18s\n' "dpdk-testpmd io, same path (pcap -> vhost)" $dec_ref
echo
echo "Both rates are averaged over the same steady ${SECS} s window."
