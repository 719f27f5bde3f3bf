#!/usr/bin/env python3
"""Finds import cycles among the modules of a crate (one module = one .rs file).

Usage: scripts/module-cycles.py app/src [server/src ...]

Why: CONTRIBUTING.md says dependencies point one way (pages -> domain -> adapters). A cycle
between two modules means neither can be understood, tested or moved without the other.

How: every path a file names (`crate::a::b::Item`, `super::x`, `self::y`, `use crate::{a, b}`)
is resolved to the deepest module file it reaches; an edge goes from the file to that module.
A `mod.rs` (or `foo.rs` with a `foo/` folder) re-exporting a child is an edge too, but a
parent declaring its child (`mod child;`) is not: that is containment, not use. Tests
(`tests.rs`, `#[cfg(test)]` children) are left out: a test module may use anything.
Exits 1 and prints each cycle with the files and lines that make it.
"""

import os
import re
import sys


def strip_comments(src: str) -> str:
    src = re.sub(r"/\*.*?\*/", "", src, flags=re.S)
    return re.sub(r"//[^\n]*", "", src)


def module_files(root: str) -> dict:
    """Module path (tuple) -> file, for every .rs file under root."""
    mods = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            if not name.endswith(".rs"):
                continue
            rel = os.path.relpath(os.path.join(dirpath, name), root)
            parts = rel[:-3].split(os.sep)
            if parts[-1] == "mod":
                parts = parts[:-1]
            if parts in (["lib"], ["main"]):
                parts = []
            if parts and parts[-1] == "tests":
                continue
            mods[tuple(parts)] = os.path.join(root, rel)
    return mods


def expand_use_groups(path: str) -> list:
    """`a::{b, c::{d}}` -> [`a::b`, `a::c::d`]."""
    m = re.match(r"^(.*?)\{(.*)\}$", path, flags=re.S)
    if not m:
        return [path]
    prefix, body = m.group(1), m.group(2)
    out, depth, cur = [], 0, ""
    for ch in body + ",":
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if ch == "," and depth == 0:
            if cur.strip():
                out.extend(expand_use_groups(prefix + cur.strip()))
            cur = ""
        else:
            cur += ch
    return out


def paths_in(src: str) -> list:
    """(line, path) for every crate/super/self path in the source."""
    found = []
    for m in re.finditer(r"\b(crate|super|self)::((?:[A-Za-z_][A-Za-z0-9_]*::)*(?:\{[^;]*?\}(?=\s*;)|[A-Za-z_][A-Za-z0-9_]*))", src):
        line = src.count("\n", 0, m.start()) + 1
        for p in expand_use_groups(m.group(0)):
            found.append((line, re.sub(r"\s+", "", p)))
    return found


def reexports(mods: dict) -> dict:
    """(module, name) -> the module a `pub use` of that module takes the name from."""
    out = {}
    for mod, file in mods.items():
        src = strip_comments(open(file, encoding="utf-8").read())
        for m in re.finditer(r"\bpub(?:\([a-z]+\))?\s+use\s+([^;]+);", src):
            for p in expand_use_groups(re.sub(r"\s+", "", m.group(1))):
                p = re.sub(r"\bas\w+$", "", p)
                parts = p.split("::")
                if parts[0] not in ("crate", "super", "self"):
                    parts = ["self"] + parts
                name = parts[-1]
                if name == "*":
                    continue
                out[(mod, name)] = "::".join(parts[:-1])
    return out


def resolve(path: str, here: tuple, mods: dict, exports: dict = None, depth: int = 0):
    parts = path.split("::")
    if parts[0] == "crate":
        base, rest = (), parts[1:]
    else:
        base = list(here)
        rest = parts
        while rest and rest[0] in ("super", "self"):
            if rest[0] == "super":
                base = base[:-1]
            rest = rest[1:]
        base = tuple(base)
    best = base if base in mods else None
    cur = base
    for i, name in enumerate(rest):
        nxt = cur + (name,)
        if nxt in mods:
            best = cur = nxt
            continue
        # A name a facade re-exports belongs to the module it comes from.
        via = (exports or {}).get((cur, name))
        if via is not None and depth < 8:
            target = resolve(via + "::" + name, cur, mods, exports, depth + 1)
            if target is not None:
                best = target
        break
    return best


def test_children(src: str) -> set:
    """Children declared under #[cfg(test)]."""
    return set(re.findall(r"#\[cfg\(test\)\]\s*(?:pub\s+)?mod\s+([a-z_0-9]+)\s*;", src))


def check(root: str) -> int:
    mods = module_files(root)
    exports = reexports(mods)
    edges = {}
    for mod, file in mods.items():
        src = open(file, encoding="utf-8").read()
        skip = test_children(src)
        # The body of inline #[cfg(test)] modules is not the module's dependencies.
        src = re.sub(r"#\[cfg\(test\)\]\s*mod\s+\w+\s*\{.*", "", strip_comments(src), flags=re.S)
        children = set(re.findall(r"^\s*(?:pub(?:\([a-z]+\))?\s+)?mod\s+([a-z_0-9]+)\s*;", src, flags=re.M))
        found = paths_in(src)
        # A bare path into a child module (`dispatch::page`, `use model::Card`).
        for m in re.finditer(r"(?<![:\w])([a-z_][a-z0-9_]*)::", src):
            if m.group(1) in children - skip:
                found.append((src.count("\n", 0, m.start()) + 1, "self::" + m.group(1)))
        for line, path in found:
            target = resolve(path, mod, mods, exports)
            if target is None or target == mod:
                continue
            # A module and its own submodules are one unit (a folder): a child using its
            # parent's items and the parent calling into its child is not a cycle.
            if target[: len(mod)] == mod or mod[: len(target)] == target:
                continue
            edges.setdefault(mod, {}).setdefault(target, line)
    # Tarjan's strongly connected components.
    index, low, stack, on, comps = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(comp)

    sys.setrecursionlimit(10000)
    for v in list(mods):
        if v not in index:
            visit(v)
    name = lambda m: "::".join(m) or "(crate root)"
    for comp in comps:
        print(f"{root}: import cycle among {', '.join(sorted(name(m) for m in comp))}")
        for a in sorted(comp):
            for b, line in sorted(edges.get(a, {}).items()):
                if b in comp:
                    print(f"  {mods[a]}:{line} uses {name(b)}")
    return len(comps)


if __name__ == "__main__":
    total = sum(check(root) for root in sys.argv[1:])
    if total:
        sys.exit(1)
    print(f"no import cycles among the modules of {', '.join(sys.argv[1:])}")
