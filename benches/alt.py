#!/usr/bin/env python3
"""Interleaved timing: `alt.py [--warmup N] [--export PREFIX --names A,B,...] DIR ROUNDS PREPARE
CMD...` runs
each command once in turn, ROUNDS times, so a change in the machine's load hits every command
alike, and prints each command's median and minimum wall time. A command written
`OTHER_DIR::CMD` runs in OTHER_DIR; PREPARE (a shell command, may be empty) runs before each
command, untimed; --warmup runs N untimed rounds first.

With --export, each command's times are also written to PREFIX.NAME.json in hyperfine's
layout (`results[0]` with median, min, mean, times), named by --names in the commands' order,
for `gen.py report`."""
import json, shlex, statistics, subprocess, sys, time

args = sys.argv[1:]
export, names, warmup = None, None, 0
while args and args[0].startswith("--"):
    option, value, args = args[0], args[1], args[2:]
    if option == "--export":
        export = value
    elif option == "--names":
        names = value.split(",")
    elif option == "--warmup":
        warmup = int(value)
    else:
        sys.exit(f"alt.py: unknown option {option}")
d, rounds, prep = args[0], int(args[1]), args[2]
cmds = [(c.split("::")[0] if "::" in c else d, shlex.split(c.split("::")[-1])) for c in args[3:]]
if export and (not names or len(names) != len(cmds)):
    sys.exit("alt.py: --export needs --names, one name a command")
times = [[] for _ in cmds]
for round in range(warmup + rounds):
    for i, (cwd, cmd) in enumerate(cmds):
        if prep:
            subprocess.run(prep, shell=True, cwd=cwd, check=True)
        start = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if round >= warmup:
            times[i].append(time.perf_counter() - start)
for i, ((cwd, cmd), t) in enumerate(zip(cmds, times)):
    print(f"{' '.join(cmd):45} median {statistics.median(t) * 1e3:8.1f} ms  min {min(t) * 1e3:8.1f}")
    if export:
        result = {"command": " ".join(cmd), "median": statistics.median(t), "min": min(t),
                  "mean": statistics.mean(t), "times": t}
        with open(f"{export}.{names[i]}.json", "w") as out:
            json.dump({"results": [result]}, out)
