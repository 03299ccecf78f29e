from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from relink.config import get_settings
from relink.db import Database, set_default_database
from relink.kit.crypto import SecretBox, generate_key
from tests.fixtures.demo import Demo, seeded_demo
from tests.fixtures.sandbox import SandboxServer, run_sandbox

pytest_plugins = ["tests.fixtures.database"]


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test gets its own var dir and no leaked environment."""
    monkeypatch.setenv("RELINK_VAR_DIR", str(tmp_path / "var"))
    for name in (
        "RELINK_DATABASE_URL",
        "RELINK_SECRET_KEYS",
        "RELINK_SMTP_URL",
        "RELINK_REDIS_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
    set_default_database(None)


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    yield db
    await db.dispose()


@pytest.fixture
async def session(database: Database) -> AsyncIterator[AsyncSession]:
    async with database.sessions() as s:
        yield s


@pytest.fixture
def secret_key() -> str:
    return generate_key()


@pytest.fixture
def box(secret_key: str) -> SecretBox:
    return SecretBox([secret_key])


@pytest.fixture
async def demo(session: AsyncSession, box: SecretBox) -> Demo:
    return await seeded_demo(session, box=box)


@pytest.fixture(scope="session")
def _shared_sandbox() -> Iterator[SandboxServer]:
    with run_sandbox() as server:
        yield server


@pytest.fixture
def sandbox(_shared_sandbox: SandboxServer) -> Iterator[SandboxServer]:
    """One sandbox server for the session, reset to the seeded world before each test."""
    _shared_sandbox.reset()
    yield _shared_sandbox
