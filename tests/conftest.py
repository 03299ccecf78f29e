from __future__ import annotations

import random
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy.ext.asyncio import AsyncSession

from relink.app import freeze_startup_heap
from relink.auth import passwords
from relink.config import get_settings
from relink.db import Database, set_default_database
from relink.grants import refresh
from relink.kit.crypto import SecretBox, generate_key
from relink.providers.catalog import load_catalog
from relink.providers.http import HttpClient
from relink.worker.context import JobContext
from tests.fixtures.clock import Clock
from tests.fixtures.demo import Demo, seeded_demo
from tests.fixtures.sandbox import SandboxServer, run_sandbox

# argon2 is slow on purpose (0.1-0.4 s per check on this machine), and the suite signs in
# thousands of times: with the production parameters, sign-ins were most of the time of the
# API tests. The suite hashes with argon2id's cheapest parameters instead; what a hash of
# other parameters does (rehashed on sign-in) is tested in tests/auth/test_sessions.py, and
# the processes a test starts (relink serve, relink check) keep the production parameters.
passwords._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)

pytest_plugins = [
    "tests.fixtures.database",
    "tests.fixtures.app_server",
    "tests.fixtures.live_app",
]


def pytest_sessionstart(session: pytest.Session) -> None:
    """As the app does at start-up (the same call, so it is done once per process): the
    imported world is frozen out of the collector, so a full collection in the middle of a test
    stays short (the sandbox's answers are timed out after 0.5 s)."""
    freeze_startup_heap()


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
async def postgres(
    database: Database, demo: Demo, session: AsyncSession
) -> AsyncIterator[Database]:
    """The demo agency, committed, on PostgreSQL (for what only PostgreSQL has)."""
    if database.is_sqlite:
        pytest.skip("what this checks is PostgreSQL's own: its PostgreSQL half runs in CI")
    await session.commit()
    yield database


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


# Short enough that a "slow" sandbox answer is a timeout without making the suite slow.
TEST_HTTP_TIMEOUT = 0.5
# Token calls wait longer than data calls, as in production (HttpClient's token_timeout).
TEST_TOKEN_TIMEOUT = 2.0


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def ctx(
    database: Database,
    box: SecretBox,
    sandbox: SandboxServer,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[JobContext]:
    monkeypatch.setattr(refresh, "LOST_ANSWER_PAUSE_SECONDS", 0.01)
    monkeypatch.setattr(refresh, "LEASE_POLL_SECONDS", 0.02)
    context = JobContext(
        database=database,
        box=box,
        catalog=load_catalog(base_urls={"sandbox_url": sandbox.url}),
        http=HttpClient(timeout=TEST_HTTP_TIMEOUT, token_timeout=TEST_TOKEN_TIMEOUT),
        settings=get_settings(),
        clock=clock,
        rng=random.Random(7),
    )
    yield context
    await context.close()
