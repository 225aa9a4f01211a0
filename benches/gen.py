#!/usr/bin/env python3
"""Generates the inputs of the benchmarks in benches/run.sh and reports their results (see
docs/performance.md).

    gen.py graph DIR [N]              N sources, their objects and one link step, written three
                                      ways: Goalfile, Makefile (for make -rR), build.ninja
    gen.py cgraph DIR N               a C-like graph: N sources, each with a depfile naming 20 of
                                      1,000 headers (each named by N/50 depfiles), compiled into obj/ (the
                                      recipe writes the object and its depfile) and linked;
                                      Goalfile (depfiles), Goalfile.nodeps (none), Makefile
                                      (-include of the depfiles), build.ninja (deps = gcc)
    gen.py chain DIR N                a chain of N copies (step i copies step i-1), three ways
    gen.py memory DIR N               a Goalfile whose N goals each have a memory-exists target,
                                      and a goal `seeded` that sets all N keys in one run
    gen.py startup DIR                a small Goalfile and the same recipes as a justfile
    gen.py goalfile-goals N [FILE]    a Goalfile of N distinct goals, for parse + check timing
                                      (stdout without FILE)
    gen.py report DIR                 the table of the results run.sh left in DIR (markdown)

With RECIPES=shell in the environment, graph and chain recipes end in ` && :`, so that every
tool runs each of them through /bin/sh; by default they are plain commands, which goal and make
start directly and ninja always starts through /bin/sh.

Only the standard library, so the benchmark runs wherever python3 does.
"""

import os
import sys

# Appended to every recipe of graph and chain: nothing, or shell syntax that makes goal and make
# start a shell as ninja always does.
SHELL_TAIL = " && :" if os.environ.get("RECIPES") == "shell" else ""

# The link step is `touch app` rather than `cat obj/*.o > app` for every tool: with 100,000
# objects the glob exceeds ARG_MAX, and the same trivial recipes keep the comparison about the
# tools' own work (reading the build description, stat-ing files, deciding), not the recipes'.
GOALFILE = """\
goal compiled src {
    let obj "obj/{src|stem}.o"
    target { file-newer "{obj}" than="{src}" }
    run "cp {src} {obj}TAIL"
}

goal all {
    for src glob="src/*.c" { require compiled src="{src}" }
    target { file-newer "app" than-glob="obj/*.o" }
    run "touch appTAIL"
}
""".replace("TAIL", SHELL_TAIL)

# The wildcard mirrors the Goalfile's glob, so both tools list the directory on every run.
MAKEFILE = """\
SRCS := $(wildcard src/*.c)
OBJS := $(patsubst src/%.c,obj/%.o,$(SRCS))

all: app

app: $(OBJS)
\ttouch appTAIL

obj/%.o: src/%.c
\tcp $< $@TAIL
""".replace("TAIL", SHELL_TAIL)


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
        f.write(f"rule cp\n  command = cp $in $out{SHELL_TAIL}\n\n")
        f.write(f"rule link\n  command = touch $out{SHELL_TAIL}\n\n")
        for i in range(n):
            f.write(f"build obj/{name(i)}.o: cp src/{name(i)}.c\n")
        f.write("\nbuild app: link")
        for i in range(n):
            f.write(f" $\n    obj/{name(i)}.o")
        f.write("\n\ndefault app\n")


# Headers per object, as a C file of a real project includes, out of a pool; each object's
# headers are spread over the pool, so that each header is included by N/50 objects.
CGRAPH_HEADERS = 20
CGRAPH_POOL = 1000

CGRAPH_GOALFILE = """\
goal compiled src {
    let obj "obj/{src|stem}.o"
    target { file-newer "{obj}" than="{src}" DEPFILE}
    run "cp {src} {obj} && cp src/{src|stem}.d obj/{src|stem}.d"
}

goal all {
    for src glob="src/*.c" { require compiled src="{src}" }
    target { file-newer "app" than-glob="obj/*.o" }
    run "touch app"
}
"""

CGRAPH_MAKEFILE = """\
SRCS := $(wildcard src/*.c)
OBJS := $(patsubst src/%.c,obj/%.o,$(SRCS))

all: app

app: $(OBJS)
\ttouch app

obj/%.o: src/%.c
\tcp $< $@ && cp src/$*.d obj/$*.d

-include $(OBJS:.o=.d)
"""


def cgraph(directory, n):
    """The recipe is no compiler: it copies the source to the object and a depfile written here
    (src/NAME.d) to where a compiler would write it (obj/NAME.d), so every tool reads the same
    depfiles and the figures are the tools' own work."""
    headers = CGRAPH_POOL
    step = headers // CGRAPH_HEADERS
    for sub in ("src", "inc", "obj"):
        os.makedirs(os.path.join(directory, sub), exist_ok=True)
    for h in range(headers):
        write(directory, f"inc/h{h:05d}.h", f"#define H{h} {h}\n")
    for i in range(n):
        write(directory, f"src/{name(i)}.c", f"int {name(i)}(void) {{ return {i}; }}\n")
        included = " ".join(f"inc/h{(i + j * step) % headers:05d}.h" for j in range(CGRAPH_HEADERS))
        write(directory, f"src/{name(i)}.d", f"obj/{name(i)}.o: src/{name(i)}.c {included}\n")
    write(directory, "Goalfile", CGRAPH_GOALFILE.replace("DEPFILE", 'depfile="obj/{src|stem}.d" '))
    write(directory, "Goalfile.nodeps", CGRAPH_GOALFILE.replace("DEPFILE", ""))
    write(directory, "Makefile", CGRAPH_MAKEFILE)
    ninja = [
        "rule cc\n  command = cp $in $out && cp $template $depfile\n"
        "  depfile = $depfile\n  deps = gcc\n\n",
        "rule link\n  command = touch $out\n\n",
    ]
    for i in range(n):
        ninja.append(
            f"build obj/{name(i)}.o: cc src/{name(i)}.c\n"
            f"  depfile = obj/{name(i)}.d\n  template = src/{name(i)}.d\n"
        )
    ninja.append("\nbuild app: link")
    ninja.extend(f" $\n    obj/{name(i)}.o" for i in range(n))
    ninja.append("\n\ndefault app\n")
    write(directory, "build.ninja", "".join(ninja))


def write(directory, name, text):
    with open(os.path.join(directory, name), "w") as f:
        f.write(text)


def chain(directory, n):
    """Goal i requires goal i-1, so the evaluator recurses N deep, as make and ninja do."""
    os.makedirs(os.path.join(directory, "chain"), exist_ok=True)
    write(directory, "chain/s0000", "0\n")
    goalfile = ['goal s0000 {\n    target { file-exists "chain/s0000" }\n}\n']
    makefile = [f"all: chain/s{n:04d}\n"]
    ninja = [f"rule cp\n  command = cp $in $out{SHELL_TAIL}\n"]
    for i in range(1, n + 1):
        prev, this = f"chain/s{i - 1:04d}", f"chain/s{i:04d}"
        goalfile.append(
            f"goal s{i:04d} {{\n    require s{i - 1:04d}\n"
            f'    target {{ file-newer "{this}" than="{prev}" }}\n'
            f'    run "cp {prev} {this}{SHELL_TAIL}"\n}}\n'
        )
        makefile.append(f"{this}: {prev}\n\tcp {prev} {this}{SHELL_TAIL}\n")
        ninja.append(f"build {this}: cp {prev}\n")
    goalfile.append(f"goal all {{\n    require s{n:04d}\n}}\n")
    ninja.append(f"default chain/s{n:04d}\n")
    write(directory, "Goalfile", "".join(goalfile))
    write(directory, "Makefile", "".join(makefile))
    write(directory, "build.ninja", "".join(ninja))


def memory(directory, n):
    """`goal memory set` per key would start N processes; one `seeded` run sets them all.

    The keys are one global, split with `words=`, so the Goalfile stays one goal and a loop
    whatever N is, and listing them costs no process and no directory listing."""
    os.makedirs(directory, exist_ok=True)
    keys = " ".join(f"k{i:06d}" for i in range(n))
    write(
        directory,
        "Goalfile",
        f'let keys "{keys}"\n\n'
        "goal seeded {\n"
        '    for key words="{keys}" { memory-set "bench/{key}" "1" }\n'
        "}\n\n"
        "goal checked key {\n"
        '    target { memory-exists "bench/{key}" }\n'
        '    run "echo {key} was not seeded; exit 1"\n'
        "}\n\n"
        "goal all {\n"
        '    for key words="{keys}" { require checked key="{key}" }\n'
        "}\n",
    )


# Five documented recipes with a parameter or two: what a project's task list looks like.
STARTUP_GOALFILE = """\
goal all doc="Build everything" {
    require built
    require tested
}
goal built doc="Compile the program" { run "echo build" }
goal tested doc="Run the tests" { run "echo test" }
goal released version doc="Tag and publish a release" {
    param version pattern=#"[0-9]+\\.[0-9]+\\.[0-9]+"#
    run "echo release {version}"
}
goal cleaned doc="Remove build products" { run "echo clean" }
"""

JUSTFILE = """\
# Build everything
all: built tested

# Compile the program
built:
    echo build

# Run the tests
tested:
    echo test

# Tag and publish a release
released version:
    echo release {{version}}

# Remove build products
cleaned:
    echo clean
"""


def startup(directory):
    os.makedirs(directory, exist_ok=True)
    write(directory, "Goalfile", STARTUP_GOALFILE)
    write(directory, "justfile", JUSTFILE)


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


FIGURES = [
    ("full", "(c) Full build from scratch"),
    ("noop", "(a) No-op"),
    ("dry-run", "(b) Dry run after touching one file"),
    ("cnoop", "(g) C graph with depfiles: no-op"),
    ("cheader", "(h) C graph with depfiles: rebuild after touching one header"),
    ("csource", "(i) C graph with depfiles: rebuild after touching one source"),
    ("memory", "(e) Memory checks"),
    ("startup", "(f) Start-up"),
    ("parse", "Parse + check of a large Goalfile"),
]


def report(directory):
    """Markdown tables, one per figure: medians (minimums), and goal's time over each other's."""
    import glob
    import json

    times, rss = {}, {}
    for path in glob.glob(os.path.join(directory, "*.json")):
        figure, size, tool = os.path.basename(path)[: -len(".json")].split(".", 2)
        result = json.load(open(path))["results"][0]
        times.setdefault(figure, {}).setdefault(size, {})[tool] = result
    for path in glob.glob(os.path.join(directory, "*.rss")):
        figure, size, tool = os.path.basename(path)[: -len(".rss")].split(".", 2)
        # /usr/bin/time appends its line after any "Command exited…" note: take the last.
        text = open(path).read().split()
        if text:
            rss.setdefault(figure, {}).setdefault(size, {})[tool] = int(text[-1]) / 1024

    def order(size):
        return (0, int(size), "") if size.isdigit() else (1, 0, size)

    def tools_of(rows):
        tools = []
        for row in rows.values():
            tools += [tool for tool in sorted(row) if tool not in tools]
        return sorted(tools, key=lambda tool: (not tool.startswith("goal"), tool))

    for figure, title in FIGURES:
        rows = times.get(figure)
        if not rows:
            continue
        tools = tools_of(rows)
        others = [tool for tool in tools if not tool.startswith("goal")]
        ratios = others if "goal" in tools else []
        print(f"\n### {title}\n")
        print("Median ms (minimum ms)." + (" Ratios are of medians." if ratios else "") + "\n")
        head = ["N"] + tools + [f"goal/{tool}" for tool in ratios]
        print("| " + " | ".join(head) + " |")
        print("|" + "---|" + "---:|" * (len(head) - 1))
        for size in sorted(rows, key=order):
            row = rows[size]
            cells = [size if size != "0" else ""]
            for tool in tools:
                result = row.get(tool)
                cells.append(f"{result['median'] * 1e3:.1f} ({result['min'] * 1e3:.1f})" if result else "")
            for tool in ratios:
                # Like against like: a tool's -j2 figure is compared with goal's own -j2.
                mine = "goal -j2" if tool.endswith("-j2") and "goal -j2" in row else "goal"
                if mine in row and tool in row:
                    cells.append(f"{row[mine]['median'] / row[tool]['median']:.2f}")
                else:
                    cells.append("")
            print("| " + " | ".join(cells) + " |")

    for figure, title in FIGURES:
        rows = rss.get(figure)
        if not rows:
            continue
        tools = tools_of(rows)
        print(f"\n### (d) Peak RSS, MiB: {title[4:] if title.startswith('(') else title}\n")
        ratio = "goal" in tools and "ninja" in tools
        head = ["N"] + tools + (["goal/ninja"] if ratio else [])
        print("| " + " | ".join(head) + " |")
        print("|" + "---|" + "---:|" * (len(head) - 1))
        for size in sorted(rows, key=order):
            row = rows[size]
            cells = [size] + [f"{row[tool]:.1f}" if tool in row else "" for tool in tools]
            if ratio:
                cells.append(f"{row['goal'] / row['ninja']:.2f}" if "goal" in row and "ninja" in row else "")
            print("| " + " | ".join(cells) + " |")


def main(argv):
    if len(argv) >= 2 and argv[0] == "graph":
        graph(argv[1], int(argv[2]) if len(argv) > 2 else 10000)
    elif len(argv) == 3 and argv[0] == "cgraph":
        cgraph(argv[1], int(argv[2]))
    elif len(argv) == 3 and argv[0] == "chain":
        chain(argv[1], int(argv[2]))
    elif len(argv) == 3 and argv[0] == "memory":
        memory(argv[1], int(argv[2]))
    elif len(argv) == 2 and argv[0] == "startup":
        startup(argv[1])
    elif len(argv) == 2 and argv[0] == "report":
        report(argv[1])
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
