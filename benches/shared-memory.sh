#!/usr/bin/env bash
# The shared Memory's speed: a PostgreSQL server of its own on loopback beside the embedded
# sled Memory. Method and results: docs/performance.md ("The shared Memory on PostgreSQL").
#
#   benches/shared-memory.sh
#
# 1. A no-op over N `memory-exists` targets (all true), sled and PostgreSQL runs interleaved,
#    ROUNDS of each: medians, minimums and their ratio.
# 2. HOSTS `goal -jJOBS` processes, each in a project directory of its own, sharing one Memory,
#    reach the same INSTANCES instances of a recipe of PAUSE seconds: wall time beside the ideal
#    (INSTANCES x PAUSE / (HOSTS x JOBS)), and a check that every recipe ran exactly once.
#
# Environment: GOAL (the binary; default target/release/goal), N (default 10000), ROUNDS
# (default 15), HOSTS (4), JOBS (2), INSTANCES (1000), PAUSE (0.05), SERVER_OPTIONS (more
# `-c NAME=VALUE` for the server, e.g. `-c synchronous_commit=off` to see what the flush of each
# commit costs), KEEP=1 (keep the temporary directory). Needs PostgreSQL's server (Debian: apt-get install postgresql); as root, the
# server runs as `nobody`.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
goal=${GOAL:-$here/../target/release/goal}
n=${N:-10000}
rounds=${ROUNDS:-15}
hosts=${HOSTS:-4}
jobs=${JOBS:-2}
instances=${INSTANCES:-1000}
pause=${PAUSE:-0.05}

fail() {
    echo "FAILED: $*" >&2
    exit 1
}

[[ -x $goal ]] || fail "no $goal: build it with cargo build --release, or name it in GOAL"
pg_bin=$(find /usr/lib/postgresql -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)
[[ -x $pg_bin/initdb ]] || fail "PostgreSQL is not installed (Debian: apt-get install postgresql)"

work=$(mktemp -d /tmp/goal-shared-bench.XXXXXX)
as_server=()
if ((EUID == 0)); then
    chown nobody "$work"
    as_server=(runuser -u nobody --)
fi
server_pid=
cleanup() {
    # The postmaster itself: runuser, in between as root, passes no signal on.
    [[ -s $work/data/postmaster.pid ]] && kill -INT "$(head -n 1 "$work/data/postmaster.pid")"
    [[ -n $server_pid ]] && wait "$server_pid" 2>/dev/null
    [[ ${KEEP:-} == 1 ]] && echo "kept $work" || rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"${as_server[@]}" "$pg_bin/initdb" --auth=trust --username=goal --encoding=UTF8 \
    -D "$work/data" >/dev/null
"${as_server[@]}" "$pg_bin/postgres" -D "$work/data" -k "$work" \
    -c listen_addresses=127.0.0.1 -c port="$port" ${SERVER_OPTIONS:-} 2>"$work/server.log" &
server_pid=$!
for _ in $(seq 100); do
    "$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$port" && break
    sleep 0.1
done
"$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$port" || fail "the server did not start: $(cat "$work/server.log")"
url="postgres://goal@127.0.0.1:$port/postgres"
echo "PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (defaults${SERVER_OPTIONS:+ and $SERVER_OPTIONS})"
echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"

echo
echo "==> no-op over $n memory-exists targets, $rounds rounds interleaved"
python3 "$here/gen.py" memory "$work/sled" "$n"
python3 "$here/gen.py" memory "$work/postgres" "$n"
"$goal" -q -C "$work/sled" seeded
GOAL_MEMORY=$url GOAL_MEMORY_NAMESPACE=noop "$goal" -q -C "$work/postgres" seeded
"$goal" -q -n -C "$work/sled" >/dev/null || fail "a key is missing in sled"
GOAL_MEMORY=$url GOAL_MEMORY_NAMESPACE=noop "$goal" -q -n -C "$work/postgres" >/dev/null ||
    fail "a key is missing in PostgreSQL"
GOAL=$goal URL=$url ROUNDS=$rounds WORK=$work python3 - <<'EOF'
import os, statistics, subprocess, time

goal, url, work = os.environ["GOAL"], os.environ["URL"], os.environ["WORK"]
runs = {
    "sled": ([goal, "-q", "-C", f"{work}/sled"], {}),
    "postgres": (
        [goal, "-q", "-C", f"{work}/postgres"],
        {"GOAL_MEMORY": url, "GOAL_MEMORY_NAMESPACE": "noop"},
    ),
}
times = {name: [] for name in runs}
for _ in range(int(os.environ["ROUNDS"])):
    for name, (command, env) in runs.items():
        start = time.perf_counter()
        subprocess.run(command, env={**os.environ, **env}, check=True, stdout=subprocess.DEVNULL)
        times[name].append(time.perf_counter() - start)
for name, measured in times.items():
    print(f"{name:9} median {statistics.median(measured) * 1000:7.1f} ms   min {min(measured) * 1000:7.1f} ms")
ratio = statistics.median(times["postgres"]) / statistics.median(times["sled"])
print(f"postgres / sled: {ratio:.2f}x (medians), "
      f"{min(times['postgres']) / min(times['sled']):.2f}x (minimums)")
EOF

echo
echo "==> $hosts processes at -j$jobs sharing $instances instances of ${pause}s recipes"
ids=$(seq -f '%04g' 0 $((instances - 1)) | tr '\n' ' ')
for host in $(seq "$hosts"); do
    mkdir -p "$work/host-$host"
    cat >"$work/host-$host/Goalfile" <<EOF
let ids "${ids% }"

goal step i {
    target { memory-exists "done-{i}" }
    run "echo {i} >> \$RAN; sleep $pause"
    memory-set "done-{i}" "1"
}

goal all {
    for i words="{ids}" { require step i="{i}" }
}
EOF
done
GOAL=$goal URL=$url HOSTS=$hosts JOBS=$jobs INSTANCES=$instances PAUSE=$pause WORK=$work python3 - <<'EOF'
import collections, os, subprocess, time

goal, url, work = os.environ["GOAL"], os.environ["URL"], os.environ["WORK"]
hosts, jobs = int(os.environ["HOSTS"]), int(os.environ["JOBS"])
instances, pause = int(os.environ["INSTANCES"]), float(os.environ["PAUSE"])
ran = f"{work}/ran"
env = {**os.environ, "GOAL_MEMORY": url, "GOAL_MEMORY_NAMESPACE": "fleet", "RAN": ran}
start = time.perf_counter()
processes = [
    subprocess.Popen([goal, "-q", f"-j{jobs}", "-C", f"{work}/host-{host}"], env=env)
    for host in range(1, hosts + 1)
]
statuses = [process.wait() for process in processes]
wall = time.perf_counter() - start
counts = collections.Counter(open(ran).read().split())
twice = [i for i, count in counts.items() if count > 1]
assert statuses == [0] * hosts, f"exit statuses {statuses}"
assert len(counts) == instances and not twice, f"{len(counts)} instances ran, twice: {twice[:10]}"
ideal = instances * pause / (hosts * jobs)
print(f"wall {wall:.2f} s, ideal {ideal:.2f} s ({instances} x {pause} s / {hosts * jobs} slots): "
      f"{wall / ideal:.2f}x the ideal; every recipe ran once")
EOF
echo
echo "==> for reference: one process at -j$((hosts * jobs)) on sled, the same work"
mkdir -p "$work/alone"
cp "$work/host-1/Goalfile" "$work/alone/"
start=$(date +%s.%N)
RAN=$work/ran-alone "$goal" -q -j$((hosts * jobs)) -C "$work/alone"
end=$(date +%s.%N)
python3 -c "import sys; wall = $end - $start; ideal = $instances * $pause / ($hosts * $jobs)
print(f'wall {wall:.2f} s: {wall / ideal:.2f}x the ideal')"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
