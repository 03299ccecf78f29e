"""A tiny path syntax for reading values out of provider JSON.

Grammar: segments separated by dots; a segment is a key, optionally followed by `[*]` (every
element of a list) or `[N]` (one element). A bare `*` segment means every value of an object,
and the whole path `$` means the document itself.

    error
    error.code
    error.details[*].errors[*].errorCode.authenticationError
    error.details[*].errors[*].errorCode.*
    resourceNames[0]

Resolving never raises: a path that does not fit the document yields no values.
"""

from __future__ import annotations

import functools
import re
from typing import Any, Final

ROOT: Final = "$"

_SEGMENT = re.compile(r"(?P<key>[^.\[\]]+)(?P<indexes>(?:\[(?:\*|\d+)\])*)")
_INDEX = re.compile(r"\[(\*|\d+)\]")


class _Wildcard:
    """Marker step: every element of a list, or every value of an object."""

    def __repr__(self) -> str:
        return "*"


WILDCARD: Final = _Wildcard()

Step = str | int | _Wildcard


@functools.lru_cache(maxsize=1024)
def compile_path(path: str) -> tuple[Step, ...]:
    """Turn a path into steps; raise ValueError naming the bad part."""
    if path == ROOT:
        return ()
    if not path or path != path.strip():
        raise ValueError(f"invalid JSON path {path!r}")
    steps: list[Step] = []
    for part in path.split("."):
        match = _SEGMENT.fullmatch(part)
        if match is None:
            raise ValueError(f"invalid JSON path {path!r}: bad segment {part!r}")
        key = match["key"]
        steps.append(WILDCARD if key == "*" else key)
        for index in _INDEX.findall(match["indexes"]):
            steps.append(WILDCARD if index == "*" else int(index))
    return tuple(steps)


def validate_path(path: str) -> str:
    """Pydantic hook: accept a path only if it compiles."""
    compile_path(path)
    return path


def resolve(document: Any, path: str) -> list[Any]:
    """Every value at `path` in `document`, in document order."""
    current: list[Any] = [document]
    for step in compile_path(path):
        following: list[Any] = []
        for node in current:
            following.extend(_step(node, step))
        current = following
    return current


def first(document: Any, path: str) -> Any:
    """The first value at `path`, or None."""
    found = resolve(document, path)
    return found[0] if found else None


def _step(node: Any, step: Step) -> list[Any]:
    if isinstance(step, _Wildcard):
        if isinstance(node, list):
            return list(node)
        if isinstance(node, dict):
            return list(node.values())
        return []
    if isinstance(step, int):
        if isinstance(node, list) and -len(node) <= step < len(node):
            return [node[step]]
        return []
    if isinstance(node, dict) and step in node:
        return [node[step]]
    return []
