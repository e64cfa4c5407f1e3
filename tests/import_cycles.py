#!/usr/bin/env python3
"""Fails when two source files of a crate import each other, directly or round a circle.

ARCHITECTURE.md promises one-way arrows between modules; this keeps the promise checked. Each
`.rs` file is a module; an edge is a `crate::`, `super::` or `self::` path in its code (comments
and `#[cfg(test)]` code left out). A module may use its parent's items (the wizard's protocol
files implement the parent's `Wizard`): edges to an ancestor are not counted.

Usage: tests/import_cycles.py SRC_DIR...   (exit 1 and the cycles named, or exit 0)
"""

import os
import re
import sys


def module_of(root, path):
    parts = os.path.relpath(path, root)[:-3].split(os.sep)
    if parts[-1] in ("mod", "lib", "main"):
        parts = parts[:-1]
    return tuple(parts)


def code_of(path):
    text = open(path, encoding="utf-8").read()
    text = re.split(r"#\[cfg\(test\)\]", text)[0]
    return re.sub(r"//[^\n]*", "", text)


def paths_in(code):
    """Every `crate::a::b`, with `crate::{a::X, b}` groups spread out."""
    for prefix, group in re.findall(r"\b((?:crate|super|self)(?:::\w+)*)::\{([^{}]*)\}", code):
        for item in group.split(","):
            item = item.strip()
            if item:
                yield prefix + "::" + item
    yield from re.findall(r"\b((?:crate|super|self)(?:::\w+)+)", code)


def target(module, path):
    parts = path.split("::")
    if parts[0] == "crate":
        base, parts = (), parts[1:]
    elif parts[0] == "self":
        base, parts = module, parts[1:]
    else:
        base = module
        while parts and parts[0] == "super":
            base, parts = base[:-1], parts[1:]
    return base + tuple(p for p in parts if re.fullmatch(r"[a-z_][a-z0-9_]*", p))


def cycles_in(root):
    files = [os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs if f.endswith(".rs")]
    modules = {module_of(root, f): f for f in files}
    graph = {m: set() for m in modules}
    for module, path in modules.items():
        for used in paths_in(code_of(path)):
            to = target(module, used)
            while to and to not in modules:
                to = to[:-1]
            if to in modules and to != module and module[: len(to)] != to:
                graph[module].add(to)
    found, done, stack = [], set(), []

    def visit(node):
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt in stack:
                found.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in done:
                visit(nxt)
        stack.pop()
        done.add(node)

    for node in sorted(graph):
        if node not in done:
            visit(node)
    return found


def main():
    bad = 0
    for root in sys.argv[1:]:
        for cycle in cycles_in(root):
            bad += 1
            print(f"{root}: import cycle: " + " -> ".join("::".join(m) or "(crate root)" for m in cycle))
    if bad:
        print(f"{bad} import cycle(s): make the arrows one-way (move the shared piece into its own module).")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
