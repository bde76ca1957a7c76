#!/usr/bin/env bash
# nvo quickstart: two hypervisor hosts, each running nvo, joined by an
# underlay link; two tenants, blue (VNI 5000) and red (VNI 6000), each with
# one VM on each host. Both tenants use the very same MAC and IP addresses.
# The script shows blue's VMs and red's VMs pinging across the VXLAN
# tunnel, then takes red's VM on host B away and shows that red's pings go
# unanswered although blue's VM with the same addresses is right there.
#
# Everything stays on this machine: network namespaces, veth pairs, DPDK
# virtual devices; underlay addresses in 198.18.0.0/15. Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

bash scripts/setup.sh
NVO=$(nvo_build)
W=$(mktemp -d /tmp/nvo-quickstart.XXXXXX)
TAG=qs$$
NS_A=$TAG-hostA NS_B=$TAG-hostB NS_VMS=$TAG-vms
VMS=(a-blue a-red b-blue b-red)

cleanup() {
    [ -n "${NVO_KEEP:-}" ] && { echo "kept $W; namespaces $TAG-*"; return; }
    nvo_cleanup
    for ns in "$NS_A" "$NS_B" "$NS_VMS" "${VMS[@]/#/$TAG-}"; do
        ip netns del "$ns" 2>/dev/null || true
    done
    rm -rf "$W"
}
trap cleanup EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "underlay: host A 198.18.0.1 <-> host B 198.18.0.2 (veth between two namespaces)"
for ns in "$NS_A" "$NS_B" "$NS_VMS"; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
ip link add upA netns "$NS_A" type veth peer name upB netns "$NS_B"
for side in "$NS_A upA" "$NS_B upB"; do
    set -- $side
    ip netns exec "$1" ethtool -K "$2" tx off >/dev/null
    ip netns exec "$1" sysctl -qw "net.ipv6.conf.$2.disable_ipv6=1"
    ip -n "$1" link set "$2" up
done

say "VMs: a kernel stack each, behind a virtio-user device (one dpdk-testpmd bridges all four)"
# Same MAC and IP in both tenants: 10.0.0.1 on host A, 10.0.0.2 on host B.
declare -A IP=([a-blue]=10.0.0.1 [a-red]=10.0.0.1 [b-blue]=10.0.0.2 [b-red]=10.0.0.2)
declare -A MAC=([a-blue]=52:54:00:00:00:01 [a-red]=52:54:00:00:00:01
                [b-blue]=52:54:00:00:00:02 [b-red]=52:54:00:00:00:02)
VDEVS=()
i=0
for vm in "${VMS[@]}"; do
    ns=$TAG-$vm
    ip netns add "$ns"; ip -n "$ns" link set lo up
    ip link add eth0 netns "$ns" type veth peer name "w-$vm" netns "$NS_VMS"
    ip netns exec "$ns" ethtool -K eth0 tx off >/dev/null
    ip netns exec "$NS_VMS" ethtool -K "w-$vm" tx off >/dev/null
    ip netns exec "$NS_VMS" sysctl -qw "net.ipv6.conf.w-$vm.disable_ipv6=1"
    ip -n "$ns" link set eth0 address "${MAC[$vm]}"
    ip -n "$ns" addr add "${IP[$vm]}/24" dev eth0
    ip -n "$ns" link set eth0 mtu 1450 up
    ip -n "$NS_VMS" link set "w-$vm" up
    VDEVS+=(--vdev "net_virtio_user$i,path=$W/$vm.sock,queues=1"
            --vdev "net_af_packet$i,iface=w-$vm")
    i=$((i + 1))
done
host_config() { # name vtep peer
    cat <<EOF
[eal]
file_prefix = "$TAG-$1"
args = ["--no-pci", "--in-memory", "--single-file-segments"]
memory_mb = 256

[cpu]
control = 0
workers = [1]

[switch]
mbufs = 8191
ctl_socket = "$W/$1.ctl"

[[uplink]]
name = "up"
device = "net_af_packet0,iface=up${1: -1}"
ipv4 = "$2/24"

[[domain]]
name = "blue"
vni = 5000
tunnel = "vxlan"
flood = ["$3"]

[[domain]]
name = "red"
vni = 6000
tunnel = "vxlan"
flood = ["$3"]

[[vm_port]]
name = "blue-vm"
socket = "$W/${1,,}-blue.sock"
domain = "blue"

[[vm_port]]
name = "red-vm"
socket = "$W/${1,,}-red.sock"
domain = "red"
EOF
}

say "nvo on host A and host B: domains blue (VNI 5000) and red (VNI 6000) over VXLAN"
host_config A 198.18.0.1 198.18.0.2 > "$W/A.toml"
host_config B 198.18.0.2 198.18.0.1 > "$W/B.toml"
for h in A B; do
    ns=$TAG-host$h
    ip netns exec "$ns" "$NVO" run --config "$W/$h.toml" > "$W/nvo-$h.log" 2>&1 &
    NVO_PIDS+=("$!")
done
nvo_wait_for "$W/A.ctl" 300
nvo_wait_for "$W/B.ctl" 300
# nvo serves the vhost-user sockets; the VMs' virtio-user devices connect.
ip netns exec "$NS_VMS" dpdk-testpmd -l 0,1 --no-pci --in-memory --single-file-segments \
    --file-prefix "$TAG-vms" "${VDEVS[@]}" -- --forward-mode=io --port-topology=paired \
    --auto-start --no-mlockall --total-num-mbufs=8192 --stats-period 0 \
    < <(sleep 3600) > "$W/vms.log" 2>&1 &
NVO_PIDS+=("$!")
NVO_PREFIXES+=("$TAG-vms")

"$NVO" ctl --socket "$W/A.ctl" domains
"$NVO" ctl --socket "$W/A.ctl" ports

vmping() { # vm target
    ip netns exec "$TAG-$1" ping -c 3 -i 0.3 -W 2 "$2"
}

# Give the vhost-user connections a moment to come up.
for _ in $(seq 50); do
    vmping a-blue 10.0.0.2 >/dev/null 2>&1 && break
    sleep 0.2
done

say "blue on host A pings blue on host B (10.0.0.2) through the tunnel"
vmping a-blue 10.0.0.2
say "red on host A pings red on host B: the same addresses, another tenant"
vmping a-red 10.0.0.2

say "red's VM on host B goes away; red pings 10.0.0.2 again"
ip -n "$TAG-b-red" link set eth0 down
if vmping a-red 10.0.0.2; then
    echo "FAIL: red reached 10.0.0.2 with red's VM gone: isolation broken" >&2
    exit 1
fi
echo "no answer: blue's VM at 10.0.0.2, same MAC and IP, never saw red's frames"
say "blue still works"
vmping a-blue 10.0.0.2

say "host A's MAC table"
"$NVO" ctl --socket "$W/A.ctl" macs
say "host A's counters (those not zero)"
"$NVO" ctl --socket "$W/A.ctl" counters | grep -v -e '^#' -e ' 0$'

say "stopping (each nvo prints its counters)"
kill -INT "${NVO_PIDS[@]:0:2}"
wait "${NVO_PIDS[@]:0:2}" 2>/dev/null || true
for h in A B; do
    echo "--- host $h"
    sed -n '/^PORT/,/busy cycles/p' "$W/nvo-$h.log"
done
say "quickstart done"
