"""`pip install relink` gives a `relink` that starts: runtime code needs runtime dependencies only.

Building a fresh virtualenv per test run is too slow, so the installed one stands in for it:
every installed distribution that the runtime dependencies of pyproject.toml do not pull in
(pytest, httpx, hypothesis, aiosmtpd, ...) is made unimportable in a child interpreter, which
then imports every relink module and starts the command. A static check covers the imports
that only run inside functions.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import tomllib
from functools import cache
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "relink"
# Modules that only run inside another program: Alembic's environment reads the config of
# the `alembic` command that loads it.
RUN_ONLY_BY_ALEMBIC = {"relink.migrations.env"}
CHILD_TIMEOUT_SECONDS = 300

# Runs in a child interpreter: argv[1] is a JSON list of import names to make unimportable.
IMPORT_EVERY_MODULE = """
import importlib, json, pkgutil, sys, traceback
for name in json.loads(sys.argv[1]):
    sys.modules[name] = None  # `import name` (and name.sub) now raises ImportError
skip = set(json.loads(sys.argv[2]))
import relink
failed = {}
def note(name):
    failed[name] = traceback.format_exc(limit=3)
for module in pkgutil.walk_packages(relink.__path__, "relink.", onerror=note):
    if module.name in skip:
        continue
    try:
        importlib.import_module(module.name)
    except BaseException:
        note(module.name)
print(json.dumps(failed))
"""

START_THE_COMMAND = """
import json, sys
for name in json.loads(sys.argv[1]):
    sys.modules[name] = None
from relink.cli import app
sys.argv = ["relink", *sys.argv[2:]]
app()
"""


def _pyproject() -> dict[str, object]:
    with (ROOT / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)


def _runtime_requirements() -> list[Requirement]:
    project = _pyproject()["project"]
    assert isinstance(project, dict)
    return [Requirement(line) for line in project["dependencies"]]


@cache
def runtime_closure() -> frozenset[str]:
    """Canonical names of every distribution a runtime install brings, extras included."""
    seen: set[str] = set()
    pending = _runtime_requirements()
    while pending:
        requirement = pending.pop()
        name = canonicalize_name(requirement.name)
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue  # an optional platform's package; not installed, so nothing imports it
        key = f"{name}[{','.join(sorted(requirement.extras))}]"
        if key in seen:
            continue
        seen.add(key)
        for line in dist.requires or []:
            child = Requirement(line)
            environments = [{"extra": e} for e in requirement.extras] or [{"extra": ""}]
            if child.marker is None or any(child.marker.evaluate(env) for env in environments):
                pending.append(child)
    return frozenset(key.split("[")[0] for key in seen)


def _import_names_by_distribution() -> dict[str, set[str]]:
    names: dict[str, set[str]] = {}
    for module, dists in metadata.packages_distributions().items():
        for dist in dists:
            names.setdefault(canonicalize_name(dist), set()).add(module)
    return names


def dev_only_import_names() -> list[str]:
    """Top-level import names of installed distributions a runtime install would not have."""
    runtime = runtime_closure()
    blocked: set[str] = set()
    for dist, modules in _import_names_by_distribution().items():
        if dist not in runtime and dist != "relink":
            blocked |= {m for m in modules if m.isidentifier() and m not in sys.stdlib_module_names}
    # Runtime distributions may share a top-level name with a dev one; never block those.
    for dist, modules in _import_names_by_distribution().items():
        if dist in runtime:
            blocked -= modules
    return sorted(blocked)


def _child(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code, json.dumps(dev_only_import_names()), *args],
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_SECONDS,
        cwd=ROOT,
        check=False,
    )


def test_the_dev_only_packages_are_really_blocked() -> None:
    blocked = dev_only_import_names()

    # The known dev tools are among them, and nothing the runtime needs is.
    assert {"httpx", "pytest", "hypothesis", "aiosmtpd"} <= set(blocked)
    assert not {"fastapi", "aiohttp", "typer", "sqlalchemy", "uvicorn"} & set(blocked)


def test_every_relink_module_imports_without_dev_only_packages() -> None:
    result = _child(IMPORT_EVERY_MODULE, json.dumps(sorted(RUN_ONLY_BY_ALEMBIC)))

    assert result.returncode == 0, result.stderr
    failed = json.loads(result.stdout.strip().splitlines()[-1])
    assert failed == {}, "\n".join(f"{name}:\n{trace}" for name, trace in failed.items())


def test_the_relink_command_starts_without_dev_only_packages() -> None:
    for command in (["--help"], ["sandbox", "serve", "--help"], ["sandbox", "fault", "--help"]):
        result = _child(START_THE_COMMAND, *command)

        assert result.returncode == 0, f"relink {' '.join(command)}: {result.stderr}"
        assert "Usage" in result.stdout


def _third_party_imports() -> dict[str, set[str]]:
    """Every top-level name imported anywhere in src/relink (functions too), and where."""
    found: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top != "relink" and top not in sys.stdlib_module_names:
                    found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


def test_every_third_party_import_maps_to_a_runtime_dependency() -> None:
    distributions = metadata.packages_distributions()
    runtime = runtime_closure()

    unmapped = {
        name: sorted(where)
        for name, where in _third_party_imports().items()
        if not {canonicalize_name(d) for d in distributions.get(name, [])} & runtime
    }

    assert unmapped == {}, f"imported but not a runtime dependency in pyproject.toml: {unmapped}"


def test_test_servers_and_tools_are_dev_dependencies_only() -> None:
    project = _pyproject()["project"]
    assert isinstance(project, dict)
    runtime = {canonicalize_name(r.name) for r in _runtime_requirements()}
    dev_lines = project["optional-dependencies"]["dev"]
    dev = {canonicalize_name(Requirement(line).name) for line in dev_lines}

    assert "aiosmtpd" in dev and "aiosmtpd" not in runtime
    assert not runtime & dev
