#!/usr/bin/env bash
# The benchmark suite: goal beside make and ninja on the same graphs, measured in one run.
# Method, results and what bounds each figure: docs/performance.md.
#
#   benches/run.sh [N...]     graphs of N sources -> N objects -> one link (default: 1000 10000
#                             100000), then a chain, 100,000 Memory checks, start-up, parse,
#                             and C-like graphs with depfiles (CGRAPH sizes)
#
# Environment: GOAL (the binary; default target/release/goal), FULL_MAX (largest N whose full
# builds are timed; default 10000), CHAIN (chain depth; default 1000), MEMORY_N (Memory checks;
# default 100000), PARSE_N (goals in the parse benchmark; default 10000), ONLY (a space-separated
# subset of: graph chain memory startup parse cgraph), CGRAPH (sizes of the C-like graphs with
# depfiles; default 1000 10000), KEEP=1 (keep the temporary directory),
# RECIPES=shell (every recipe through /bin/sh for every tool; see gen.py).
set -euo pipefail

if (($#)); then sizes=("$@"); else sizes=(1000 10000 100000); fi
full_max=${FULL_MAX:-10000}
depth=${CHAIN:-1000}
memory_n=${MEMORY_N:-100000}
parse_n=${PARSE_N:-10000}
only=" ${ONLY:-graph chain memory startup parse cgraph} "
read -ra csizes <<<"${CGRAPH:-1000 10000}"
here=$(cd "$(dirname "$0")" && pwd)
goal=${GOAL:-$here/../target/release/goal}
# A MAKEFLAGS of the caller (-j, -k …) would change what make does and measures.
unset MAKEFLAGS MFLAGS GNUMAKEFLAGS

step() {
    printf '\n==> %s\n' "$*"
}

fail() {
    echo "FAILED: $*" >&2
    exit 1
}

wanted() {
    [[ $only == *" $1 "* ]]
}

step "tools"
missing=()
command -v hyperfine >/dev/null || missing+=(hyperfine)
command -v ninja >/dev/null || missing+=(ninja-build)
command -v make >/dev/null || missing+=(make)
[[ -x /usr/bin/time ]] || missing+=(time)
if ((${#missing[@]})); then
    ((EUID == 0)) || fail "missing: ${missing[*]}; install them (Debian: apt-get install ${missing[*]})"
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# just is in Debian from 13 on; before that, PyPI's rust-just wheel ships the same binary.
just=$(command -v just || true)
if [[ -z $just ]] && wanted startup; then
    if ((EUID == 0)) && [[ $(apt-cache policy just 2>/dev/null) == *Candidate:*[0-9]* ]]; then
        apt-get install -y -qq just >/dev/null && just=$(command -v just)
    else
        venv=${XDG_CACHE_HOME:-$HOME/.cache}/goal-bench/just
        [[ -x $venv/bin/just ]] || { python3 -m venv "$venv" && "$venv/bin/pip" install -q rust-just; } ||
            echo "just: could not be installed; start-up is measured without it"
        [[ -x $venv/bin/just ]] && just=$venv/bin/just
    fi
fi
[[ -x $goal ]] || fail "no goal binary at $goal; build it with cargo build --release or set GOAL"
echo "machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "$(make --version | head -1); ninja $(ninja --version); $(hyperfine --version)${just:+; $("$just" --version)}"
echo "goal: $goal, $("$goal" --version); recipes: ${RECIPES:-plain}"

work=$(mktemp -d "${TMPDIR:-/tmp}/goal-bench.XXXXXX")
results=$work/results
mkdir -p "$results"
if [[ ${KEEP:-} == 1 ]]; then
    echo "keeping $work"
else
    trap 'rm -rf "$work"' EXIT
fi

# Hyperfine options sized to the graph, so that N=100,000 stays within minutes on 2 cores.
runs() { # N
    if (($1 >= 100000)); then
        opts=(--warmup 1 --runs 5)
    elif (($1 >= 10000)); then
        opts=(--warmup 2 --runs 10)
    else
        opts=(--warmup 3 --min-runs 10)
    fi
}

# measure FIGURE N TOOL DIR COMMAND...: hyperfine, with the options in the array `opts`, without
# a shell (-N: a shell's start-up would be a large share of a few milliseconds); one file per
# figure, size and tool for the report.
measure() {
    local figure=$1 n=$2 tool=$3 dir=$4
    shift 4
    # Its warnings about outliers are expected on a shared machine: kept for a failure only.
    (cd "$dir" && hyperfine -N --style none "${opts[@]}" --export-json "$results/$figure.$n.$tool.json" \
        --command-name "$tool" "$(printf '%q ' "$@")" >/dev/null 2>"$work/hyperfine.log") ||
        fail "$tool: $*"$'\n'"$(cat "$work/hyperfine.log")"
    python3 -c 'import json, sys; r = json.load(open(sys.argv[1]))["results"][0]; print("%-8s %-10s %-20s median %8.1f ms, min %8.1f ms" % (*sys.argv[2:], r["median"] * 1e3, r["min"] * 1e3))' \
        "$results/$figure.$n.$tool.json" "$figure" "$n" "$tool"
}

# settle DIR GOAL-ARGS...: waits until files just written are a few seconds old, then runs goal
# once. goal trusts a file's mtime, and keeps a directory's listing, only once it is a few
# seconds old (a change in the same clock tick would not show); a user's Goalfile and sources
# are that old on any run but one started the instant they were saved.
settle() {
    sleep 3
    (cd "$1" && shift && "$goal" "$@" >/dev/null)
}

# rss FIGURE N TOOL DIR COMMAND...: the peak RSS of one run, in KiB.
rss() {
    local figure=$1 n=$2 tool=$3 dir=$4
    shift 4
    (cd "$dir" && /usr/bin/time -f %M -o "$results/$figure.$n.$tool.rss" "$@" >/dev/null 2>&1) || true
}

# fires TOOL EXPECTED-COUNT EXPECTED-LINE OUTPUT: a dry run lists exactly the expected work.
fires() {
    local count
    count=$(grep -c . <<<"$4" || true)
    [[ $count == "$2" ]] || fail "$1 would run $count commands or goals, not $2:"$'\n'"$4"
    grep -qF -- "$3" <<<"$4" || fail "$1 does not list '$3':"$'\n'"$4"
    echo "$1: ok ($count, including '$3')"
}

up_to_date() { # DIR
    (cd "$1/make" && make -rR -q) || fail "make: not up to date"
    [[ $(cd "$1/ninja" && ninja -n) == *"no work to do"* ]] || fail "ninja: not up to date"
    local dry
    dry=$(cd "$1/goal" && "$goal" --dry-run -q) || fail "goal: not up to date:"$'\n'"$dry"
}

# One graph (KIND graph: N sources -> N objects -> a link; chain: N copies in a row), through
# the figures: full build, no-op, dry run after one touch, peak RSS.
suite() { # KIND N
    local kind=$1 n=$2 dir=$work/$1-$2 touched label=$2
    [[ $kind == graph ]] || label="$kind $n"
    step "$kind, N=$n: generate"
    python3 "$here/gen.py" "$kind" "$dir/make" "$n"
    # Identical trees (mtimes included): no tool's state (.ninja_log, .goal/) is seen by another.
    cp -a "$dir/make" "$dir/ninja"
    cp -a "$dir/make" "$dir/goal"

    local clean
    # hyperfine -N runs --prepare without a shell too.
    if [[ $kind == graph ]]; then
        clean="sh -c 'rm -rf obj app && mkdir obj'"
    else
        clean="find chain -name s* ! -name s0000 -delete"
    fi
    if ((n <= full_max)); then
        step "$kind, N=$n: full builds (hyperfine, each from scratch)"
        opts=(--runs $(((n >= 10000) ? 2 : 3)) --prepare "$clean")
        measure full "$label" goal "$dir/goal" "$goal" -q
        [[ $kind == graph ]] && measure full "$label" "goal -j2" "$dir/goal" "$goal" -q -j2
        measure full "$label" "make -j1" "$dir/make" make -rR -s -j1
        measure full "$label" "ninja -j1" "$dir/ninja" ninja -j1
        if [[ $kind == graph ]]; then
            measure full "$label" "make -j2" "$dir/make" make -rR -s -j2
            measure full "$label" "ninja -j2" "$dir/ninja" ninja -j2
        fi
    else
        step "$kind, N=$n: one build with ninja -j2, copied to the other trees"
        (cd "$dir/ninja" && ninja -j2 >/dev/null)
        for tool in make goal; do
            rm -rf "${dir:?}/$tool"
            cp -a "$dir/ninja" "$dir/$tool"
            rm -f "$dir/$tool/.ninja_log" "$dir/$tool/.ninja_deps"
        done
    fi
    # An early goal may exit 0 and build nothing: check what the build left.
    if [[ $kind == graph ]]; then
        [[ $(find "$dir/goal/obj" -name '*.o' | wc -l) == "$n" && -e $dir/goal/app ]] ||
            fail "goal did not build app and $n objects"
    else
        [[ -e $dir/goal/chain/s$(printf %04d "$n") ]] || fail "goal did not build the chain"
    fi
    up_to_date "$dir"

    # Interleaved (one run of each tool in turn): on a shared machine the load drifts over the
    # seconds hyperfine spends on each tool, by more than the tools differ.
    settle "$dir/goal" -q
    step "$kind, N=$n: no-op (interleaved)"
    local rounds=$(((n >= 100000) ? 5 : (n >= 10000) ? 30 : 200))
    python3 "$here/alt.py" --warmup 2 --export "$results/noop.$label" --names "goal,goal -j2,make,ninja" \
        "$dir/goal" "$rounds" "" "$goal" "$goal -j2" "$dir/make::make -rR" "$dir/ninja::ninja" |
        sed "s/^/noop     $label  /"
    rss noop "$label" goal "$dir/goal" "$goal"
    rss noop "$label" make "$dir/make" make -rR
    rss noop "$label" ninja "$dir/ninja" ninja

    # A benchmark of a tool that rebuilds too much or too little measures nothing: touch one
    # file and check that each tool would run exactly what depends on it.
    step "$kind, N=$n: correctness and dry run after touching one file"
    local expected first_make first_ninja first_goal
    if [[ $kind == graph ]]; then
        touched=src/$(printf 'f%05d' $((n / 2))).c
        expected=2
        first_make="cp $touched obj/"
        first_ninja="cp $touched obj/"
        first_goal="would fire: compiled src=$touched "
    else
        touched=chain/s$(printf %04d $((n / 2)))
        expected=$((n - n / 2))
        first_make="cp $touched chain/"
        first_ninja="cp $touched chain/"
        first_goal="would fire: s$(printf %04d $((n / 2 + 1))) "
    fi
    for tool in make ninja goal; do
        touch "$dir/$tool/$touched"
    done
    fires "make -rR -n" "$expected" "$first_make" "$(cd "$dir/make" && make -rR -n)"
    fires "ninja -n" "$expected" "$first_ninja" "$(cd "$dir/ninja" && ninja -n | sed 's/^\[[0-9/]*\] //')"
    # goal lists each instance that would fire, and those that may fire once it has.
    fires "goal --dry-run" "$expected" "$first_goal" \
        "$(cd "$dir/goal" && { "$goal" --dry-run -q | grep -E '^(would|may) fire:' || true; })"
    python3 "$here/alt.py" --warmup 2 --export "$results/dry-run.$label" --names "goal,make,ninja" \
        "$dir/goal" "$rounds" "" "$goal --dry-run" "$dir/make::make -rR -n" "$dir/ninja::ninja -n" |
        sed "s/^/dry-run  $label  /"
    (cd "$dir/make" && make -rR -s)
    (cd "$dir/ninja" && ninja >/dev/null)
    (cd "$dir/goal" && "$goal" -q)
    up_to_date "$dir"
    # Three trees of 2N files each: gone before the next N unless asked to keep them.
    [[ ${KEEP:-} == 1 ]] || rm -rf "$dir"
}

if wanted graph; then
    for n in "${sizes[@]}"; do
        suite graph "$n"
    done
fi
wanted chain && suite chain "$depth"

# The C-like graph (gen.py cgraph): each object's depfile names 20 headers. Built once by each
# tool (goal twice: with the depfiles, and the same graph without them), then interleaved runs of
# the no-op, the rebuild after touching one header (exactly the objects whose depfiles name it
# run) and after touching one source (one object and the link). ninja runs recipes side by side
# unless told otherwise: rebuilds compare like with like, -j1 with -j1 and -j2 with -j2.
csuite() { # N
    local n=$1 dir=$work/cgraph-$1 rounds
    rounds=$(((n >= 10000) ? 20 : 100))
    step "C graph, N=$n: generate and build once with each tool (-j2)"
    python3 "$here/gen.py" cgraph "$dir/make" "$n"
    for tool in ninja goal nodeps; do
        cp -a "$dir/make" "$dir/$tool"
    done
    cp "$dir/nodeps/Goalfile.nodeps" "$dir/nodeps/Goalfile"
    (cd "$dir/make" && make -rR -s -j2)
    (cd "$dir/ninja" && ninja -j2 >/dev/null)
    (cd "$dir/goal" && "$goal" -q -j2)
    (cd "$dir/nodeps" && "$goal" -q -j2)
    up_to_date "$dir"
    settle "$dir/goal" -q
    settle "$dir/nodeps" -q

    step "C graph, N=$n: no-op (interleaved)"
    python3 "$here/alt.py" --warmup 2 --export "$results/cnoop.$n" \
        --names "goal,goal (no depfiles),make,ninja" "$dir/goal" "$rounds" "" \
        "$goal" "$dir/nodeps::$goal" "$dir/make::make -rR" "$dir/ninja::ninja" | sed "s/^/cnoop    $n  /"
    python3 -c 'import json, sys; m = lambda t: json.load(open(f"{sys.argv[1]}.{t}.json"))["results"][0]["median"]; print("cnoop    %s  goal with depfiles / without: %.2f" % (sys.argv[2], m("goal") / m("goal (no depfiles)")))' \
        "$results/cnoop.$n" "$n"

    local header=inc/h00007.h source
    source=src/$(printf 'f%05d' $((n / 2))).c
    step "C graph, N=$n: rebuild after touching $header (interleaved)"
    local including
    including=$(grep -l -- "$header" "$dir/goal"/src/*.d | wc -l)
    for tool in make ninja goal; do
        touch "$dir/$tool/$header"
    done
    fires "make -rR -n" $((including + 1)) "touch app" "$(cd "$dir/make" && make -rR -n)"
    fires "ninja -n" $((including + 1)) "touch app" "$(cd "$dir/ninja" && ninja -n | sed 's/^\[[0-9/]*\] //')"
    fires "goal --dry-run" $((including + 1)) "would fire: compiled src=src/f00007.c " \
        "$(cd "$dir/goal" && { "$goal" --dry-run -q | grep -E '^(would|may) fire:' || true; })"
    # Each run rebuilds what the touch made out of date; the count is checked on the last one.
    python3 "$here/alt.py" --warmup 1 --export "$results/cheader.$n" \
        --names "goal,goal -j2,make -j1,ninja -j1,ninja -j2" "$dir/goal" "$((rounds / 2))" "touch $header" \
        "$goal" "$goal -j2" "$dir/make::make -rR -s" "$dir/ninja::ninja -j1" "$dir/ninja::ninja -j2" |
        sed "s/^/cheader  $n  /"
    touch "$dir/goal/$header"
    [[ $(cd "$dir/goal" && "$goal" 2>&1 | grep -c '^goal: start compiled') == "$including" ]] ||
        fail "goal did not run exactly the $including objects that include $header"

    step "C graph, N=$n: rebuild after touching $source (interleaved)"
    python3 "$here/alt.py" --warmup 2 --export "$results/csource.$n" --names "goal,make -j1,ninja -j1" \
        "$dir/goal" "$rounds" "touch $source" "$goal" "$dir/make::make -rR -s" "$dir/ninja::ninja -j1" |
        sed "s/^/csource  $n  /"
    touch "$dir/goal/$source"
    [[ $(cd "$dir/goal" && "$goal" 2>&1 | grep -c '^goal: start ') == 2 ]] ||
        fail "goal did not run exactly $source's object and the link"
    up_to_date "$dir"
    [[ ${KEEP:-} == 1 ]] || rm -rf "$dir"
}

if wanted cgraph; then
    for n in "${csizes[@]}"; do
        csuite "$n"
    done
fi

if wanted memory; then
    step "Memory: $memory_n memory-exists targets"
    python3 "$here/gen.py" memory "$work/memory" "$memory_n"
    /usr/bin/time -f "seeding $memory_n keys: %es" "$goal" -q -C "$work/memory" seeded
    (cd "$work/memory" && "$goal" --dry-run -q >/dev/null) || fail "goal: a seeded key is missing"
    runs "$memory_n"
    measure memory "$memory_n" goal "$work/memory" "$goal" -q
    rss memory "$memory_n" goal "$work/memory" "$goal" -q
fi

if wanted startup; then
    step "start-up: --list of a small Goalfile and justfile"
    python3 "$here/gen.py" startup "$work/startup"
    settle "$work/startup" --list
    opts=(--warmup 20 --min-runs 200)
    measure startup 0 "goal --list" "$work/startup" "$goal" --list
    [[ -n $just ]] && measure startup 0 "just --list" "$work/startup" "$just" --list
    measure startup 0 "goal --version" "$work/startup" "$goal" --version
    measure startup 0 "ninja --version" "$work/startup" ninja --version
    measure startup 0 "make --version" "$work/startup" make --version
    opts+=(--prepare "rm -rf .goal")
    measure startup 0 "goal --list (cold)" "$work/startup" "$goal" --list
fi

if wanted parse; then
    step "parse: a Goalfile of $parse_n goals, cold (no cache) and cached"
    mkdir -p "$work/parse"
    python3 "$here/gen.py" goalfile-goals "$parse_n" "$work/parse/Goalfile"
    echo "Goalfile: $(wc -c <"$work/parse/Goalfile") bytes"
    opts=(--warmup 1 --runs 3 --prepare "rm -rf .goal")
    measure parse "$parse_n" "goal --list (cold)" "$work/parse" "$goal" --list
    # shellcheck disable=SC2016 # $0 is for that sh
    rss parse "$parse_n" "goal --list (cold)" "$work/parse" sh -c 'rm -rf .goal && exec "$0" --list' "$goal"
    opts=(--warmup 1 --runs 3)
    measure parse "$parse_n" "goal --check" "$work/parse" "$goal" --check
    opts=(--warmup 2 --min-runs 10)
    measure parse "$parse_n" "goal --list (cached)" "$work/parse" "$goal" --list
    rss parse "$parse_n" "goal --list (cached)" "$work/parse" "$goal" --list
fi

step "results"
python3 "$here/gen.py" report "$results" | tee "$work/results.md"
