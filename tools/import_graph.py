"""Print which parts of relink import which, and the cycles between them.

A part is a top-level package (``grants``, ``web``, ...) or a top-level module (``app``,
``config``, ...) of ``src/relink``. Every import counts: at the top of a module, inside a
function and under ``TYPE_CHECKING``, because each is a dependency someone has to keep in mind.

    make graph                                # or: .venv/bin/python tools/import_graph.py
    .venv/bin/python tools/import_graph.py --imports        # also every import across parts
    .venv/bin/python tools/import_graph.py --fail-on-cycles # exit 1 when parts form a cycle

The rules these edges must follow are in docs/architecture.md and are checked by
``lint-imports`` (the contracts in pyproject.toml); this command only shows the picture.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import grimp

PACKAGE = "relink"
# How many example imports to show for an edge inside a cycle; the rest are counted.
EXAMPLES_PER_CYCLE_EDGE = 3


@dataclass(frozen=True, order=True)
class Import:
    """One import statement from a module of one part into a module of another part."""

    importer: str
    imported: str
    line: int


@dataclass(frozen=True)
class PartGraph:
    """The parts of the package and the imports that cross from one part into another."""

    parts: tuple[str, ...]
    imports: Mapping[tuple[str, str], tuple[Import, ...]]

    def imported_by(self, part: str) -> list[str]:
        """The parts that ``part`` imports, by name."""
        return sorted(target for source, target in self.imports if source == part)


def part_of(module: str) -> str:
    """``relink.grants.refresh`` -> ``grants``; ``relink.app`` -> ``app``."""
    names = module.split(".")
    return names[1] if len(names) > 1 else names[0]


def build(package: str = PACKAGE) -> PartGraph:
    """Read the package's imports (no cache is written) and group them by part."""
    graph = grimp.build_graph(package, cache_dir=None)
    found: dict[tuple[str, str], list[Import]] = defaultdict(list)
    parts = {part_of(module) for module in graph.modules if module != package}
    for importer in graph.modules:
        for imported in graph.find_modules_directly_imported_by(importer):
            source, target = part_of(importer), part_of(imported)
            if source == target or package in (source, target):
                continue
            details = graph.get_import_details(importer=importer, imported=imported)
            lines = [int(detail["line_number"]) for detail in details] or [0]
            found[source, target].extend(Import(importer, imported, line) for line in lines)
    return PartGraph(
        parts=tuple(sorted(parts)),
        imports={edge: tuple(sorted(found[edge])) for edge in sorted(found)},
    )


def cycles(graph: PartGraph) -> list[list[str]]:
    """Groups of parts that reach each other through imports (strongly connected, size > 1)."""
    successors: dict[str, list[str]] = {part: graph.imported_by(part) for part in graph.parts}
    index: dict[str, int] = {}
    lowlink: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(part: str) -> None:
        # Tarjan's algorithm; the graph has a few dozen parts, so recursion depth is no concern.
        index[part] = lowlink[part] = len(index)
        stack.append(part)
        on_stack.add(part)
        for successor in successors[part]:
            if successor not in index:
                visit(successor)
                lowlink[part] = min(lowlink[part], lowlink[successor])
            elif successor in on_stack:
                lowlink[part] = min(lowlink[part], index[successor])
        if lowlink[part] == index[part]:
            group: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == part:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for part in graph.parts:
        if part not in index:
            visit(part)
    return sorted(groups)


def closing_loops(graph: PartGraph, group: Sequence[str]) -> list[list[str]]:
    """Short loops that together touch every part of a cycle: the imports to break.

    Parts that import each other directly come first (``a -> b -> a``); every other part of the
    group gets the shortest loop through it.
    """
    members = set(group)
    successors = {p: [t for t in graph.imported_by(p) if t in members] for p in group}
    loops: list[list[str]] = []
    covered: set[str] = set()
    for part in group:
        for target in successors[part]:
            if part < target and part in successors[target]:
                loops.append([part, target, part])
                covered |= {part, target}
    for part in group:
        if part not in covered:
            loop = _shortest_loop(successors, part)
            loops.append(loop)
            covered |= set(loop)
    return loops


def _shortest_loop(successors: Mapping[str, Sequence[str]], start: str) -> list[str]:
    """Breadth-first: the shortest path from ``start`` back to itself."""
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following: list[str] = []
        for part in frontier:
            for target in successors[part]:
                if target == start:
                    path = [part]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [*reversed(path), start]
                if target not in previous:
                    previous[target] = part
                    following.append(target)
        frontier = following
    return [start]


def render(graph: PartGraph, *, show_imports: bool) -> str:
    """The report: one line per part, then the cycles with the imports that close them."""
    width = max(len(part) for part in graph.parts)
    lines = [f"Imports between the parts of {PACKAGE} (a part imports the parts listed):", ""]
    for part in graph.parts:
        lines.append(f"  {part:<{width}} -> {', '.join(graph.imported_by(part)) or '(nothing)'}")
    found = cycles(graph)
    lines += ["", f"Cycles: {len(found)}" + (" (none)" if not found else "")]
    for number, group in enumerate(found, start=1):
        lines.append(f"  {number}. {', '.join(group)}")
        for loop in closing_loops(graph, group):
            lines.append(f"     {' -> '.join(loop)}")
            for source, target in itertools.pairwise(loop):
                lines.append(
                    f"       {source} -> {target}: {_examples(graph.imports[source, target])}"
                )
    if show_imports:
        lines += ["", "Every import across parts:"]
        for (source, target), imports in graph.imports.items():
            lines.append(f"  {source} -> {target}")
            lines += [f"    {i.importer}:{i.line} -> {i.imported}" for i in imports]
    return "\n".join(lines)


def _examples(imports: Sequence[Import]) -> str:
    shown = [f"{i.importer}:{i.line} -> {i.imported}" for i in imports[:EXAMPLES_PER_CYCLE_EDGE]]
    more = len(imports) - len(shown)
    return "; ".join(shown) + (f" (+{more} more)" if more else "")


def main(argv: Iterable[str] | None = None) -> int:
    """Print the graph; with ``--fail-on-cycles``, exit 1 when any cycle remains."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--imports", action="store_true", help="list every import across parts")
    parser.add_argument("--fail-on-cycles", action="store_true", help="exit 1 on any cycle")
    options = parser.parse_args(list(argv) if argv is not None else None)
    graph = build()
    print(render(graph, show_imports=options.imports))
    return 1 if options.fail_on_cycles and cycles(graph) else 0


if __name__ == "__main__":
    sys.exit(main())
