# Shared helpers for the scripts in this folder. Source it, don't run it.

# Every process a script starts is recorded here and ended, by PID, on exit.
NVO_PIDS=()
NVO_PREFIXES=()

nvo_cleanup() {
    local pid
    for pid in "${NVO_PIDS[@]}"; do
        kill -INT "$pid" 2>/dev/null || true
    done
    for pid in "${NVO_PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    done
    local p
    for p in "${NVO_PREFIXES[@]}"; do rm -rf "/var/run/dpdk/$p"; done
}

# Start a command in the background with its output to a log file.
# usage: nvo_spawn LOG cmd args...
nvo_spawn() {
    local log=$1; shift
    "$@" >"$log" 2>&1 &
    NVO_PIDS+=("$!")
    echo "$!"
}

# Wait up to N tenths of a second for a file (a socket) to appear.
nvo_wait_for() {
    local path=$1 tenths=${2:-100}
    for _ in $(seq "$tenths"); do
        [ -e "$path" ] && return 0
        sleep 0.1
    done
    echo "timed out waiting for $path" >&2
    return 1
}

# The release binary, built if needed.
nvo_build() {
    cargo build --release --locked -q -p nvo >&2
    echo "$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release/nvo"
}
