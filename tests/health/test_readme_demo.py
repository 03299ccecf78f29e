"""The README's demo works as written on a fresh clone: `make run`, then the demo's commands.

The commands are read from README.md and the Makefile, not copied here, so the test breaks
when the text stops working. Only the ports (and the fresh var dir) are chosen by the test.
"""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from relink.db import Database
from relink.models import DataSource, Grant, Incident, SyncOutcome, SyncRun
from relink.models.base import utcnow
from relink.providers.catalog import load_catalog
from relink.providers.taxonomy import AuthKind
from relink.status import IMPORTABLE_STATUSES, DataSourceStatus
from relink.worker.sweep import count_due
from tests.fixtures.server import bound_socket

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
COMMAND_TIMEOUT = 120
# Generous: the start-up sweep imports 15 data sources from the local sandbox in seconds.
STARTUP_SWEEP_TIMEOUT = 120.0
# Generous: the sandbox's signal reaches the app in well under a second.
SIGNAL_TIMEOUT = 60.0


def make_run_recipe() -> list[list[str]]:
    """The commands of the Makefile's `run` target (after `install`), with $(BIN) resolved."""
    makefile = (ROOT / "Makefile").read_text()
    recipe = re.search(r"^run:.*\n((?:\t.*\n)+)", makefile, re.M)
    assert recipe, "the Makefile has no run target"
    lines = [line.strip() for line in recipe.group(1).splitlines()]
    return [shlex.split(line.replace("$(BIN)", str(BIN))) for line in lines]


def readme_demo_commands() -> list[list[str]]:
    """The indented block of README.md that breaks something: its commands, comments dropped."""
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"((?:^    \S.*\n)+)", readme, re.M)
    demo = next(block for block in blocks if "sandbox fault add" in block)
    commands = [line.split("#", 1)[0].strip() for line in demo.splitlines()]
    return [shlex.split(c.replace(".venv/bin/", f"{BIN}/", 1)) for c in commands if c]


def _free_port() -> int:
    sock = bound_socket()
    port: int = sock.getsockname()[1]
    sock.close()
    return port


def _fresh_clone_env(var_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELINK_")}
    sandbox_port = _free_port()
    env |= {
        "RELINK_VAR_DIR": str(var_dir),
        "RELINK_PORT": str(_free_port()),
        "RELINK_SANDBOX_PORT": str(sandbox_port),
        "RELINK_SANDBOX_URL": f"http://127.0.0.1:{sandbox_port}",
        "COLUMNS": "120",
    }
    return env


def _run(command: list[str], *, env: dict[str, str], cwd: Path, exit_code: int = 0) -> str:
    done = subprocess.run(
        command, env=env, cwd=cwd, capture_output=True, text=True, timeout=COMMAND_TIMEOUT
    )
    assert done.returncode == exit_code, f"{shlex.join(command)}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _start(
    command: list[str], *, env: dict[str, str], cwd: Path, log: Path
) -> subprocess.Popen[bytes]:
    """In the background, its output in a file (a full pipe would stall the server)."""
    with log.open("wb") as out:
        return subprocess.Popen(command, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)


# What the app logs once the sandbox has taken its signal receivers.
REGISTERED = "signals.registered"


async def _startup_sweep_done(database: Database) -> bool:
    """Every grant refreshed, every data source imported once, nothing due or running."""
    async with database.transaction() as session:
        due = await count_due(session, now=utcnow(), catalog=load_catalog())
        unrefreshed = await session.scalar(
            select(func.count()).where(
                Grant.auth_kind == AuthKind.OAUTH2, Grant.last_refreshed_at.is_(None)
            )
        )
        sources = await session.scalar(
            select(func.count()).where(DataSource.status.in_(IMPORTABLE_STATUSES))
        )
        ok = await session.scalar(
            select(func.count(func.distinct(SyncRun.data_source_id))).where(
                SyncRun.outcome == SyncOutcome.OK
            )
        )
        running = await session.scalar(
            select(func.count()).where(SyncRun.outcome == SyncOutcome.RUNNING)
        )
    return (due.grants, due.data_sources, unrefreshed, running) == (0, 0, 0, 0) and ok == sources


async def _counts(database: Database) -> tuple[int, int]:
    """Disconnected data sources, and incidents found by a provider's signal."""
    async with database.transaction() as session:
        down = await session.scalar(
            select(func.count()).where(DataSource.status == DataSourceStatus.DISCONNECTED)
        )
        incidents = await session.scalar(
            select(func.count()).where(Incident.detected_via == "signal")
        )
    return int(down or 0), int(incidents or 0)


async def _disconnected_by_signal(database: Database) -> bool:
    down, incidents = await _counts(database)
    return down >= 8 and incidents >= 1


async def test_the_readme_demo_disconnects_eight_data_sources_in_one_incident(
    tmp_path: Path,
) -> None:
    # given: a fresh clone after `make run`, its start-up sweep done and its receivers
    # registered with the sandbox (which forgets them on every start)
    env = _fresh_clone_env(tmp_path / "var")
    *setup, serve = make_run_recipe()
    for command in setup:
        _run(command, env=env, cwd=tmp_path)
    log = tmp_path / "serve.log"
    server = _start(serve, env=env, cwd=tmp_path, log=log)
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'var' / 'relink.db'}")
    try:
        deadline = asyncio.get_running_loop().time() + STARTUP_SWEEP_TIMEOUT
        while not (await _startup_sweep_done(database) and REGISTERED in log.read_text()):
            assert server.poll() is None, log.read_text()
            assert asyncio.get_running_loop().time() < deadline, "start-up never ended"
            await asyncio.sleep(0.5)

        # when: the README's demo commands, as written; the revocation's signal does the rest
        revoke, *others = readme_demo_commands()
        _run(revoke, env=env, cwd=tmp_path)
        signal_deadline = asyncio.get_running_loop().time() + SIGNAL_TIMEOUT
        while not await _disconnected_by_signal(database):
            assert server.poll() is None, log.read_text()
            assert asyncio.get_running_loop().time() < signal_deadline, log.read_text()
            await asyncio.sleep(0.2)
        # `relink status` exits 1 while something needs a person: here, eight disconnected.
        outputs = [
            _run(command, env=env, cwd=tmp_path, exit_code=1 if command[-1] == "status" else 0)
            for command in others
        ]
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=COMMAND_TIMEOUT)
        except subprocess.TimeoutExpired:
            server.kill()
        await database.dispose()

    # then: the eight data sources went down in one incident with no other command, and
    # `relink status` shows it
    down, incidents = await _counts(database)
    assert (down, incidents) == (8, 1)
    status = outputs[-1]
    sandbox_row = next(line for line in status.splitlines() if " sandbox " in line)
    assert "8" in sandbox_row
