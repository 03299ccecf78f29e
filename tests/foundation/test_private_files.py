"""The files that hold credentials are their owner's alone: files 0600, their folder 0700."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from relink.config import Settings
from relink.db import Database
from relink.sandbox import persistence
from relink.sandbox.seed import World
from relink.sandbox.state import SandboxState


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    """The widest umask a shell may have: the modes must not depend on the umask."""
    previous = os.umask(0)
    yield
    os.umask(previous)


async def _write_in_wal_mode(database: Database) -> None:
    async with database.transaction() as session:
        await session.execute(text("CREATE TABLE IF NOT EXISTS t (x INTEGER)"))
        await session.execute(text("INSERT INTO t VALUES (1)"))
    # Hold a connection open so the WAL and its index stay on disk to be looked at.
    async with database.sessions() as session:
        await session.execute(text("SELECT x FROM t"))


@pytest.mark.usefixtures("permissive_umask")
async def test_the_embedded_database_its_wal_and_the_var_folder_are_private(
    tmp_path: Path,
) -> None:
    settings = Settings(var_dir=tmp_path / "var")
    database = Database(settings.effective_database_url)
    try:
        await _write_in_wal_mode(database)
        files = [
            settings.var_dir / name for name in ("relink.db", "relink.db-wal", "relink.db-shm")
        ]
        assert all(f.exists() for f in files)
        assert {f.name: mode(f) for f in files} == {f.name: 0o600 for f in files}
        assert mode(settings.var_dir) == 0o700
    finally:
        await database.dispose()


@pytest.mark.usefixtures("permissive_umask")
def test_the_generated_secret_key_is_private_from_its_first_byte(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path / "var")

    keys = settings.key_list()

    key_file = settings.var_dir / "secret.key"
    assert mode(key_file) == 0o600 and mode(settings.var_dir) == 0o700
    assert keys == settings.key_list()  # made once, then read back
    assert [p.name for p in settings.var_dir.iterdir()] == ["secret.key"]  # no temporary left


async def test_files_an_older_version_left_readable_are_tightened(tmp_path: Path) -> None:
    var = tmp_path / "var"
    var.mkdir(mode=0o755)
    var.chmod(0o755)
    settings = Settings(var_dir=var)
    database = Database(settings.effective_database_url)
    await _write_in_wal_mode(database)
    await database.dispose()
    old_key = Settings(var_dir=var).key_list()
    for path in [var, *var.iterdir()]:
        path.chmod(0o755 if path.is_dir() else 0o644)

    reopened = Database(settings.effective_database_url)
    await _write_in_wal_mode(reopened)
    await reopened.dispose()

    assert Settings(var_dir=var).key_list() == old_key
    assert mode(var) == 0o700
    assert {p.name: mode(p) for p in var.iterdir()} == {p.name: 0o600 for p in var.iterdir()}


async def test_a_database_folder_chosen_by_the_operator_keeps_its_mode(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o755)
    database = Database(f"sqlite+aiosqlite:///{shared / 'relink.db'}")
    await _write_in_wal_mode(database)
    await database.dispose()

    assert mode(shared) == 0o755
    assert mode(shared / "relink.db") == 0o600


@pytest.mark.usefixtures("permissive_umask")
def test_the_sandbox_state_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "var" / "sandbox-state.json"
    state = SandboxState(world=World(), redirect_uris=[], access_token_ttl=3600)

    persistence.save(state, path)
    persistence.save(state, path)  # replaced, not widened

    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700
    assert [p.name for p in path.parent.iterdir()] == ["sandbox-state.json"]
