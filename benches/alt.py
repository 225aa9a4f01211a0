#!/usr/bin/env python3
"""Interleaved timing: `alt.py DIR ROUNDS PREPARE CMD...` runs each command once in turn,
ROUNDS times, so a change in the machine's load hits every command alike, and prints each
command's median and minimum wall time. A command written `OTHER_DIR::CMD` runs in OTHER_DIR;
PREPARE (a shell command, may be empty) runs before each command, untimed."""
import shlex, statistics, subprocess, sys, time
d, rounds, prep = sys.argv[1], int(sys.argv[2]), sys.argv[3]
cmds = [(c.split("::")[0] if "::" in c else d, shlex.split(c.split("::")[-1])) for c in sys.argv[4:]]
times = [[] for _ in cmds]
for _ in range(rounds):
    for i, (cwd, cmd) in enumerate(cmds):
        if prep:
            subprocess.run(prep, shell=True, cwd=cwd, check=True)
        start = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times[i].append(time.perf_counter() - start)
for (cwd, cmd), t in zip(cmds, times):
    print(f"{' '.join(cmd):45} median {statistics.median(t) * 1e3:8.1f} ms  min {min(t) * 1e3:8.1f}")
