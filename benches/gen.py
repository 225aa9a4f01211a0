#!/usr/bin/env python3
"""Generates the inputs of the benchmarks in benches/run.sh (see docs/performance.md).

    gen.py graph DIR [N]              N sources, their objects and one link step, written three
                                      ways: Goalfile, Makefile (for make -rR), build.ninja
    gen.py goalfile-goals N [FILE]    a Goalfile of N distinct goals, for parse + check timing
                                      (stdout without FILE)

Only the standard library, so the benchmark runs wherever python3 does.
"""

import os
import sys

# The link step is `touch app` rather than `cat obj/*.o > app` for every tool: with 100,000
# objects the glob exceeds ARG_MAX, and the same trivial recipes keep the comparison about the
# tools' own work (reading the build description, stat-ing files, deciding), not the recipes'.
GOALFILE = """\
goal compiled src {
    let obj "obj/{src|stem}.o"
    target { file-newer "{obj}" than="{src}" }
    run "cp {src} {obj}"
}

goal all {
    for src glob="src/*.c" { require compiled src="{src}" }
    target { file-newer "app" than-glob="obj/*.o" }
    run "touch app"
}
"""

# The wildcard mirrors the Goalfile's glob, so both tools list the directory on every run.
MAKEFILE = """\
SRCS := $(wildcard src/*.c)
OBJS := $(patsubst src/%.c,obj/%.o,$(SRCS))

all: app

app: $(OBJS)
\ttouch app

obj/%.o: src/%.c
\tcp $< $@
"""


def name(i):
    return f"f{i:05d}"


def graph(directory, n):
    os.makedirs(os.path.join(directory, "src"), exist_ok=True)
    # Recipes write into obj/ without creating it, as the Goalfile's `cp` does.
    os.makedirs(os.path.join(directory, "obj"), exist_ok=True)
    for i in range(n):
        with open(os.path.join(directory, "src", name(i) + ".c"), "w") as f:
            f.write(f"int {name(i)}(void) {{ return {i}; }}\n")
    with open(os.path.join(directory, "Goalfile"), "w") as f:
        f.write(GOALFILE)
    with open(os.path.join(directory, "Makefile"), "w") as f:
        f.write(MAKEFILE)
    with open(os.path.join(directory, "build.ninja"), "w") as f:
        f.write("rule cp\n  command = cp $in $out\n\n")
        f.write("rule link\n  command = touch $out\n\n")
        for i in range(n):
            f.write(f"build obj/{name(i)}.o: cp src/{name(i)}.c\n")
        f.write("\nbuild app: link")
        for i in range(n):
            f.write(f" $\n    obj/{name(i)}.o")
        f.write("\n\ndefault app\n")


def goalfile_goals(n, out):
    """Goal i requires goal i-1, so the check also walks a requirement chain N deep."""
    out.write('let outdir "out"\n\n')
    for i in range(n):
        g = f"g{i:05d}"
        out.write(f'goal {g} pkg version doc="Step {i} of the chain" {{\n')
        out.write('    param pkg pattern=#"[a-z][a-z0-9-]*"#\n')
        out.write('    param version pattern=#"[0-9]+(\\.[0-9]+)*"# default="1.0"\n')
        out.write(f'    let stamp "{{outdir}}/{g}-{{pkg}}-{{version}}"\n')
        out.write('    target { file-exists "{stamp}" }\n')
        if i > 0:
            out.write(f'    require g{i - 1:05d} pkg="{{pkg}}" version="{{version}}"\n')
        out.write('    run "mkdir -p {outdir} && touch {stamp}"\n')
        out.write("}\n\n")
    out.write("goal all {\n")
    if n > 0:
        out.write(f'    require g{n - 1:05d} pkg="bench"\n')
    out.write("}\n")


def main(argv):
    if len(argv) >= 2 and argv[0] == "graph":
        graph(argv[1], int(argv[2]) if len(argv) > 2 else 10000)
    elif len(argv) >= 2 and argv[0] == "goalfile-goals":
        if len(argv) > 2:
            with open(argv[2], "w") as f:
                goalfile_goals(int(argv[1]), f)
        else:
            goalfile_goals(int(argv[1]), sys.stdout)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
