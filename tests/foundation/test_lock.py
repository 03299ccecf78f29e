"""requirements.lock and pyproject.toml agree, and the lock pins everything with hashes.

`make install` installs requirements.lock with ``--require-hashes`` and then the project with
``--no-deps``; so a dependency added to pyproject.toml but not locked would never be
installed, and a version changed in one and not the other would install the lock's. `make
lock` writes the lock again.
"""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements.lock"
# "name==version \" opens each locked entry; its hashes follow on continuation lines.
ENTRY = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def _locked() -> dict[str, str]:
    found = {}
    for line in LOCK.read_text().splitlines():
        match = ENTRY.match(line)
        if match:
            found[canonicalize_name(match.group(1))] = match.group(2)
    return found


def _declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    return [Requirement(line) for line in lines]


def test_every_declared_dependency_is_locked_at_its_pinned_version() -> None:
    locked = _locked()

    mismatched = {
        requirement.name: (
            str(requirement.specifier),
            locked.get(canonicalize_name(requirement.name)),
        )
        for requirement in _declared()
        if not requirement.specifier.contains(locked.get(canonicalize_name(requirement.name), "0"))
    }

    assert not mismatched, (
        f"run `make lock`: pyproject.toml and requirements.lock differ: {mismatched}"
    )


def test_every_declared_dependency_is_pinned_exactly() -> None:
    loose = [str(r) for r in _declared() if [s.operator for s in r.specifier] != ["=="]]

    assert not loose, f"pin these with ==: {loose}"


def test_every_locked_entry_carries_a_hash() -> None:
    entries = LOCK.read_text().split("\n")
    unhashed = [
        line
        for index, line in enumerate(entries)
        if ENTRY.match(line)
        and not (line.rstrip().endswith("\\") and "--hash=sha256:" in entries[index + 1])
    ]

    assert not unhashed, unhashed


def test_the_installed_environment_is_the_locked_one() -> None:
    locked = _locked()
    declared = {canonicalize_name(r.name) for r in _declared()}

    differing = {
        name: (version, metadata.version(name))
        for name, version in locked.items()
        if name in declared and metadata.version(name) != version
    }

    assert not differing, f"reinstall from the lock (make install): {differing}"
