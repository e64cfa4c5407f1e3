#!/usr/bin/env python3
"""Does an installed package bring every library its programs load?

    deps.py PACKAGE PROGRAM...

For each PROGRAM, every library `ldd` resolves must belong (`dpkg -S`) to PACKAGE itself or to a
package in the transitive closure of PACKAGE's Depends and Pre-Depends, as installed: what a fresh
Debian installs with the package and nothing else. A library from any other package (present here
only because a developer or the test machine installed it) is named with its package and the fix.
Exit 0 when all resolve, 1 with one line per missing library. Called by tests/packaging/deb.sh.
"""

import os
import re
import subprocess
import sys


def query(*args):
    return subprocess.run(["dpkg-query", *args], capture_output=True, text=True, check=False).stdout


def installed():
    """Every installed package and the virtual names it provides."""
    packages, providers = set(), {}
    for line in query("-W", "-f", "${Package}\t${db:Status-Abbrev}\t${Provides}\n").splitlines():
        name, status, provides = (line.split("\t") + ["", ""])[:3]
        if not status.startswith("ii"):
            continue
        packages.add(name)
        for virtual in names(provides):
            providers.setdefault(virtual, set()).add(name)
    return packages, providers


def names(field):
    """The package names of a Depends-style field: version bounds and `:any` dropped."""
    return [re.split(r"[\s(:]", item.strip())[0] for item in re.split(r"[,|]", field) if item.strip()]


def closure(root, packages, providers):
    """PACKAGE and what its dependencies bring, alternatives by the ones that are installed."""
    seen, todo = set(), [root]
    while todo:
        package = todo.pop()
        if package in seen:
            continue
        seen.add(package)
        fields = query("-W", "-f", "${Depends}, ${Pre-Depends}", package)
        for name in names(fields):
            for candidate in ({name} & packages) | providers.get(name, set()):
                todo.append(candidate)
    return seen


def owner(path):
    """The package that installed PATH (merged /usr: a library is registered under one spelling)."""
    real = os.path.realpath(path)
    spellings = []
    for candidate in (path, real):
        spellings.append(candidate)
        if candidate.startswith("/usr/"):
            spellings.append(candidate[len("/usr") :])
        else:
            spellings.append("/usr" + candidate)
    for candidate in spellings:
        out = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True, check=False)
        if out.returncode == 0:
            # "libfoo1:amd64: /usr/lib/…" (diversions print other lines first: take the owner's).
            line = [row for row in out.stdout.splitlines() if not row.startswith("diversion")][0]
            return line.split(":")[0].split(",")[0].strip()
    return None


def libraries(program):
    """(soname, path) for each library the dynamic loader resolves for PROGRAM; path None if not found."""
    out = subprocess.run(["ldd", program], capture_output=True, text=True, check=True).stdout
    found = []
    for line in out.splitlines():
        line = line.strip()
        if "=>" in line:
            soname, target = (part.strip() for part in line.split("=>", 1))
            if target.startswith("not found"):
                found.append((soname, None))
            elif target.startswith("/"):
                found.append((soname, target.split(" (")[0]))
        elif line.startswith("/"):  # the loader itself: /lib64/ld-linux-x86-64.so.2 (0x…)
            path = line.split(" (")[0]
            found.append((os.path.basename(path), path))
    return found


def main():
    if len(sys.argv) < 3:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    package, programs = sys.argv[1], sys.argv[2:]
    packages, providers = installed()
    if package not in packages:
        print(f"{package} is not installed", file=sys.stderr)
        return 1
    brought = closure(package, packages, providers)
    problems, missing, checked = [], {}, 0
    for program in programs:
        for soname, path in libraries(program):
            checked += 1
            if path is None:
                problems.append(f"{program}: {soname} is not found on this machine")
                continue
            source = owner(path)
            if source is None:
                problems.append(f"{program}: {soname} ({path}) belongs to no package")
            elif source not in brought:
                missing.setdefault(source, []).append(f"{soname} of {program}")
    for source, uses in sorted(missing.items()):
        problems.append(
            f"{source} is not among {package}'s dependencies, yet holds {', '.join(uses)}: add it to "
            "bundle.linux.deb.depends in tauri.conf.json (or a package that depends on it)"
        )
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print(f"{checked} libraries of {len(programs)} programs, each from {package}'s Depends "
              f"(closure of {len(brought)} packages)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
