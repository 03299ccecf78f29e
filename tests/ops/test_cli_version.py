"""`relink --version` names the installed package's version, the one pyproject.toml gives."""

from __future__ import annotations

import subprocess
import tomllib
from importlib import metadata
from pathlib import Path

from typer.testing import CliRunner

from relink.cli import app
from tests.fixtures.processes import PROCESS_TIMEOUT, RELINK

ROOT = Path(__file__).resolve().parents[2]


def pyproject_version() -> str:
    version: str = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    return version


def test_version_prints_the_version_pyproject_gives() -> None:
    result = CliRunner().invoke(app, ["--version"])

    assert result.exit_code == 0, result.output
    assert result.output == f"relink {pyproject_version()}\n"


def test_the_installed_relink_command_reports_the_installed_metadata() -> None:
    done = subprocess.run(
        [RELINK, "--version"], capture_output=True, text=True, timeout=PROCESS_TIMEOUT
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout == f"relink {metadata.version('relink')}\n"
    assert metadata.version("relink") == pyproject_version()
