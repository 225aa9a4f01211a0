#!/usr/bin/env python3
"""Writes a Goalfile with N goals for timing `goal --check -f FILE`.

Each goal has a parameter with a pattern, a target, a `let`, a `require` of its predecessor
and a recipe, so parsing, template parsing, reference checks, argument checks and the cycle
search all see N goals. A few globals and a user predicate are used throughout.

    python3 benches/gen_goalfile.py 10000 > /tmp/Goalfile.big
    time goal --check -f /tmp/Goalfile.big
"""

import sys


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    out = sys.stdout
    out.write('let builddir "build"\n')
    out.write('let cc "cc"\n')
    out.write('let flags "-O2 -g"\n\n')
    out.write('predicate built out {\n    file-exists "{builddir}/{out}"\n}\n\n')
    for i in range(count):
        out.write(f'goal step-{i} name doc="Step {i}" {{\n')
        out.write('    param name pattern=#"[a-z0-9_-]+"# default="x"\n')
        out.write(f'    let out "{{name}}-{i}.o"\n')
        if i > 0:
            out.write(f'    require step-{i - 1} name="{{name}}"\n')
        out.write('    target { built out="{out}" }\n')
        out.write('    run "{cc} {flags|raw} -c {name}.c -o {builddir}/{out}"\n')
        out.write('}\n')
    out.write(f'\ngoal all {{\n    require step-{count - 1} name="main"\n}}\n')


if __name__ == "__main__":
    main()
