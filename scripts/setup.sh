#!/usr/bin/env bash
# Prepares a Debian 12 machine to build, run and test nvo. Idempotent: a
# second run changes nothing and says so. Needs root (it installs packages
# and reserves hugepages).
set -euo pipefail

HUGEPAGES=${NVO_HUGEPAGES:-1024}   # 2 MiB pages: 2 GiB in all
PACKAGES=(
    # build
    pkg-config libdpdk-dev libclang-dev clang
    # DPDK runtime and its tools (dpdk-testpmd is in dpdk-dev)
    dpdk dpdk-dev
    # test peers and dissection
    iproute2 iputils-ping ethtool tshark python3-scapy
    qemu-system-x86 openvswitch-switch etcd-server
)

say() { printf 'setup: %s\n' "$*"; }

if [ "$(id -u)" -ne 0 ]; then
    echo "setup: must run as root (installs packages, reserves hugepages)" >&2
    exit 1
fi

# Packages: install only what is missing, so a rerun makes no apt call.
missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' \
        || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
else
    say "packages: all present"
fi

# The Debian services of these packages are not used: tests start their own
# instances in namespaces or on loopback. Stop what the install started.
for svc in etcd openvswitch-switch; do
    if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
        systemctl stop "$svc" && say "stopped the $svc service (tests run their own)"
    fi
done

# Hugepages: reserve, then mount hugetlbfs where DPDK looks by default.
nr=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
have=$(cat "$nr")
if [ "$have" -lt "$HUGEPAGES" ]; then
    echo "$HUGEPAGES" > "$nr"
    got=$(cat "$nr")
    say "hugepages: $have -> $got (2 MiB)"
    if [ "$got" -lt "$HUGEPAGES" ]; then
        echo "setup: only $got of $HUGEPAGES hugepages could be reserved" >&2
        exit 1
    fi
else
    say "hugepages: $have reserved"
fi
if ! grep -qs ' /dev/hugepages hugetlbfs ' /proc/mounts; then
    mkdir -p /dev/hugepages
    mount -t hugetlbfs nodev /dev/hugepages
    say "mounted hugetlbfs on /dev/hugepages"
else
    say "hugetlbfs: mounted"
fi

if ! command -v cargo >/dev/null 2>&1; then
    echo "setup: cargo not found: install a Rust toolchain (1.80 or newer) with rustup" >&2
    exit 1
fi
say "ready"
