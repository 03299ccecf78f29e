"""The shape of the code stays honest: the formatter shows every module's real length, and the
import graph of docs/architecture.md can be printed again by anyone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import relink

ROOT = Path(__file__).resolve().parents[2]
CHECKED_FOLDERS = ("src", "tests", "bench", "tools")
# Built from parts so that this file does not find itself.
COMPACTION_MARKERS = ("# fmt" + ": skip", "# fmt" + ": off")
GRAPH_COMMAND = ROOT / "tools" / "import_graph.py"


def _python_files() -> list[Path]:
    return sorted(
        path
        for folder in CHECKED_FOLDERS
        if (ROOT / folder).is_dir()
        for path in (ROOT / folder).rglob("*.py")
        if ".venv" not in path.parts
    )


def test_no_formatter_compaction_remains() -> None:
    # given: every Python file of the project
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in _python_files()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if any(marker in line for marker in COMPACTION_MARKERS)
    ]

    # then: none hides its length from the formatter
    assert not found, "formatter compactions hide the real length: " + ", ".join(found)


def test_the_import_graph_command_names_every_part_and_flags_cycles() -> None:
    # given: the parts of the package, as a reader of src/relink sees them
    package = Path(relink.__file__).parent
    parts = sorted(
        {p.name for p in package.iterdir() if (p / "__init__.py").is_file()}
        | {p.stem for p in package.glob("*.py") if p.stem not in ("__init__", "__main__")}
    )

    # when: the command of docs/architecture.md runs
    shown = subprocess.run(
        [sys.executable, str(GRAPH_COMMAND)], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout

    # then: every part has its line, and the cycles have their section
    table, cycles = shown.split("\nCycles:")
    listed = {line.split()[0] for line in table.splitlines() if " -> " in line}
    assert listed == set(parts)
    assert cycles.split()[0].isdigit()
