"""A database that cannot be reached makes the monitoring commands exit 3 with a sentence
saying so (and, with --json, one object saying so), never a traceback: a probe must tell
"Relink's database is away" from "a data source needs a person" (1) and a usage error (2)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from relink.cli_exits import ExitCode
from relink.kit.crypto import generate_key
from tests.fixtures.processes import PROCESS_TIMEOUT, relink_env, start
from tests.fixtures.server import bound_socket

SAYS_AWAY = "The database is not answering right now"
# The monitoring commands, each with --json.
COMMANDS = [("status",), ("check",), ("backfill", "status")]


def closed_port() -> int:
    """A port nothing listens on: bound a moment, then let go."""
    sock = bound_socket()
    port: int = sock.getsockname()[1]
    sock.close()
    return port


@pytest.fixture(params=["postgresql", "sqlite"])
def away_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A PostgreSQL URL whose port refuses, or an SQLite file that is not a database."""
    if request.param == "postgresql":
        return f"postgresql+psycopg://relink@127.0.0.1:{closed_port()}/relink"
    not_a_database = tmp_path / "relink.db"
    not_a_database.write_text("this is not a database file\n" * 100)
    return f"sqlite+aiosqlite:///{not_a_database}"


def run(*args: str, database_url: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = relink_env(
        database_url=database_url,
        secret_key=generate_key(),
        sandbox_url=f"http://127.0.0.1:{closed_port()}",
        var_dir=tmp_path / "var",
    )
    process = start(*args, env=env)
    out, err = process.communicate(timeout=PROCESS_TIMEOUT)
    return subprocess.CompletedProcess(process.args, process.returncode, out.decode(), err.decode())


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_database_away_exits_3_with_a_sentence_not_a_traceback(
    command: tuple[str, ...], away_url: str, tmp_path: Path
) -> None:
    done = run(*command, database_url=away_url, tmp_path=tmp_path)

    assert done.returncode == ExitCode.DATABASE_AWAY, done.stdout + done.stderr
    assert SAYS_AWAY in " ".join(done.stderr.split())
    assert "Traceback" not in done.stderr and "psycopg" not in done.stderr


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_database_away_answers_json_that_says_so(
    command: tuple[str, ...], away_url: str, tmp_path: Path
) -> None:
    done = run(*command, "--json", database_url=away_url, tmp_path=tmp_path)

    assert done.returncode == ExitCode.DATABASE_AWAY, done.stdout + done.stderr
    answer = json.loads(done.stdout)
    assert answer["error"] == "database_unavailable"
    assert answer["message"].startswith(SAYS_AWAY)


def test_a_database_away_answers_check_json_in_a_job_states_fields(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://relink@127.0.0.1:{closed_port()}/relink"

    done = run("check", "--json", database_url=url, tmp_path=tmp_path)

    answer = json.loads(done.stdout)
    assert (answer["job"], answer["state"]) == ("worker.sweep", "failed")
    assert answer["started_at"] <= answer["finished_at"]
