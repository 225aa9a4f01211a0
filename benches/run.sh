#!/usr/bin/env bash
# The no-op benchmark: how long goal, make and ninja take to find that nothing needs doing in a
# graph of N sources -> N objects -> one link, and how long goal takes to parse and check a
# Goalfile of N goals. Method and results: docs/performance.md.
#
#   benches/run.sh [N]        N defaults to 10000
#
# Environment: GOAL (the binary; default target/release/goal), PARSE_N (goals in the parse
# benchmark; default N), KEEP=1 (keep the temporary directory).
set -euo pipefail

n=${1:-10000}
parse_n=${PARSE_N:-$n}
here=$(cd "$(dirname "$0")" && pwd)
goal=${GOAL:-$here/../target/release/goal}
# A MAKEFLAGS of the caller (-j, -k …) would change what make does and measures.
unset MAKEFLAGS MFLAGS GNUMAKEFLAGS

step() {
    printf '\n==> %s\n' "$*"
}

skip_goal() {
    echo "goal: skipped ($*)"
    goal_ok=0
}

# Exit status 0 is not enough: an early goal binary may accept the command and do nothing.
goal_built() {
    local object
    object=$work/goal/obj/$(basename "$touched" .c).o
    # Not older rather than newer: two writes within one kernel clock tick get equal mtimes.
    [[ $(find "$work/goal/obj" -name '*.o' | wc -l) == "$n" && -e $work/goal/app &&
        ! $object -ot $work/goal/$touched && ! $work/goal/app -ot $object ]]
}

check_count() { # what, expected, actual
    if [[ $3 != "$2" ]]; then
        echo "$1: expected $2, got $3" >&2
        exit 1
    fi
    echo "$1: ok ($3)"
}

step "tools"
missing=()
command -v hyperfine >/dev/null || missing+=(hyperfine)
command -v ninja >/dev/null || missing+=(ninja-build)
command -v make >/dev/null || missing+=(make)
[[ -x /usr/bin/time ]] || missing+=(time)
if ((${#missing[@]})); then
    if ((EUID != 0)); then
        echo "missing: ${missing[*]}; install them (Debian: apt-get install ${missing[*]})" >&2
        exit 1
    fi
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
fi
goal_ok=1
if [[ ! -x $goal ]]; then
    skip_goal "no binary at $goal; build it with cargo build --release or set GOAL"
fi
echo "machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
echo "$(make --version | head -1); ninja $(ninja --version); $(hyperfine --version)"
if ((goal_ok)); then
    echo "goal: $goal, $("$goal" --version 2>/dev/null | grep . || echo 'version unknown')"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/goal-bench.XXXXXX")
if [[ ${KEEP:-} == 1 ]]; then
    echo "keeping $work"
else
    trap 'rm -rf "$work"' EXIT
fi

step "generate $n sources"
python3 "$here/gen.py" graph "$work/make" "$n"
# Identical trees (mtimes included) so each tool builds its own from scratch and no tool's
# state (.ninja_log, .goal/) is seen by another.
cp -a "$work/make" "$work/ninja"
cp -a "$work/make" "$work/goal"

touched=src/$(printf 'f%05d' $((n / 2))).c

step "first build (all three, from scratch)"
/usr/bin/time -f "make:  %es" make -rR -s -C "$work/make"
/usr/bin/time -f "ninja: %es" ninja -C "$work/ninja" >/dev/null
if ((goal_ok)); then
    if ! (cd "$work/goal" && /usr/bin/time -f "goal:  %es" "$goal" >"$work/goal.log" 2>&1); then
        tail -5 "$work/goal.log"
        skip_goal "it could not build the graph yet; log above"
    elif ! goal_built; then
        skip_goal "its first build exited 0 but did not produce app and $n objects"
    fi
fi

# A benchmark of a tool that rebuilds too much or too little measures nothing: touch one source
# and ask each tool, without running anything, what it would do. Then rebuild it for real.
step "correctness: touch one source, exactly one compile and the link must fire"
make -rR -q -C "$work/make" || { echo "make: not up to date after the build" >&2; exit 1; }
touch "$work/make/$touched"
check_count "make -rR -n" 2 "$(make -rR -n -C "$work/make" | grep -c -e "^cp $touched " -e '^touch app$')"
check_count "make -rR -n (all lines)" 2 "$(make -rR -n -s -C "$work/make" | wc -l)"
make -rR -s -C "$work/make"

[[ $(ninja -C "$work/ninja" -n) == *"no work to do"* ]] || { echo "ninja: not up to date" >&2; exit 1; }
touch "$work/ninja/$touched"
check_count "ninja -n" 2 "$(ninja -C "$work/ninja" -n | grep -c -e "cp $touched " -e 'touch app$')"
ninja -C "$work/ninja" >/dev/null

if ((goal_ok)); then
    touch "$work/goal/$touched"
    # The dry-run format is goal's own; whatever it is, the touched source must be the only one
    # named in it.
    if dry=$(cd "$work/goal" && "$goal" --dry-run 2>&1) || [[ $? == 1 ]]; then
        check_count "goal --dry-run (sources named)" 1 \
            "$(grep -o 'f[0-9]\{5\}' <<<"$dry" | sort -u | wc -l)"
    else
        echo "$dry" | tail -5
        echo "goal --dry-run: not supported yet; check skipped"
    fi
    if ! (cd "$work/goal" && "$goal" >"$work/goal.log" 2>&1) || ! goal_built; then
        tail -5 "$work/goal.log"
        skip_goal "the rebuild after a touch failed"
    fi
fi

step "no-op runs (hyperfine, warmup 3)"
bench() { # name, directory, command…
    local name=$1 dir=$2
    shift 2
    (cd "$dir" && hyperfine -N --warmup 3 --style basic \
        --export-json "$work/$name.json" --command-name "$name" "$*")
    # Peak RSS of one more run, in KiB.
    (cd "$dir" && /usr/bin/time -f %M -o "$work/$name.rss" "$@" >/dev/null 2>&1)
}
bench "make -rR -q" "$work/make" make -rR -q
bench "make -rR" "$work/make" make -rR
bench "ninja -n" "$work/ninja" ninja -n
bench "ninja" "$work/ninja" ninja
((goal_ok)) && bench "goal" "$work/goal" "$goal"

if ((goal_ok)); then
    step "parse + check of a Goalfile of $parse_n goals"
    mkdir -p "$work/parse"
    python3 "$here/gen.py" goalfile-goals "$parse_n" "$work/parse/Goalfile"
    echo "Goalfile: $(wc -c <"$work/parse/Goalfile") bytes"
    echo 'goal all { require no-such-goal }' >"$work/parse/Broken"
    if (cd "$work/parse" && "$goal" --check -f Broken >/dev/null 2>&1); then
        echo "goal --check: accepts a Goalfile requiring an unknown goal, so it does not check yet; skipped"
    elif (cd "$work/parse" && "$goal" --check -f Goalfile >/dev/null 2>&1); then
        # Cold: no cache of a previous run under .goal/; warm: whatever goal keeps there.
        (cd "$work/parse" && hyperfine -N --warmup 1 --style basic --prepare "rm -rf .goal" \
            --export-json "$work/check-cold.json" --command-name "goal --check (cold)" \
            "$goal --check -f Goalfile")
        (cd "$work/parse" && /usr/bin/time -f %M -o "$work/check-cold.rss" \
            sh -c "rm -rf .goal && exec \"\$0\" --check -f Goalfile" "$goal" >/dev/null 2>&1)
        bench "goal --check (warm)" "$work/parse" "$goal" --check -f Goalfile
    else
        (cd "$work/parse" && "$goal" --check -f Goalfile 2>&1 | tail -5) || true
        echo "goal --check: failed on the generated Goalfile; skipped"
    fi
fi

step "results: N=$n, $(nproc) cores"
python3 - "$work" <<'EOF'
import glob, json, os, sys

work = sys.argv[1]
rows = {}
# In the order measured: make and ninja, then goal.
for path in sorted(glob.glob(os.path.join(work, "*.json")), key=os.path.getmtime):
    result = json.load(open(path))["results"][0]
    rss_path = path[: -len(".json")] + ".rss"
    rss = None
    if os.path.exists(rss_path):
        # /usr/bin/time appends its line after any "Command exited…" note: take the last.
        rss = int(open(rss_path).read().split()[-1]) / 1024
    rows[result["command"]] = (result["median"], result["mean"], result["stddev"] or 0, result["min"], rss)

# Ratios of medians: the machine is shared, and a few slow outliers move a mean but not a median.
goal = rows.get("goal")
print(f"{'command':<22} {'median ms':>10} {'mean ms':>8} {'± ms':>6} {'min ms':>7} {'peak RSS MiB':>13} {'goal/this':>10}")
for name, (median, mean, sd, low, rss) in rows.items():
    ratio = f"{goal[0] / median:.2f}" if goal and not name.startswith("goal") else ""
    rss = f"{rss:.1f}" if rss is not None else "?"
    print(f"{name:<22} {median * 1e3:>10.1f} {mean * 1e3:>8.1f} {sd * 1e3:>6.1f} {low * 1e3:>7.1f} {rss:>13} {ratio:>10}")
if not goal:
    print("goal: not measured (see the messages above)")
EOF
