"""Configuration alone chooses the mode: Redis and PostgreSQL make an app serve web and API only."""

from __future__ import annotations

from pathlib import Path

import pytest

from relink.app import create_app
from relink.config import EmbeddedWorker, Settings
from relink.db import Database
from relink.worker.celery_dispatch import CeleryDispatcher
from relink.worker.embedded import EmbeddedDispatcher
from relink.worker.enqueue import current_dispatcher
from tests.fixtures.redis_server import PrivateRedis

PG = "postgresql+psycopg://root@127.0.0.1:5432/test"


def test_the_embedded_default_runs_its_scheduler_and_jobs_itself() -> None:
    settings = Settings()

    assert not settings.scaled
    assert settings.runs_embedded_worker


def test_redis_and_postgresql_make_the_scaled_mode() -> None:
    settings = Settings(redis_url="redis://127.0.0.1:6379/0", database_url=PG)

    assert settings.scaled
    assert not settings.runs_embedded_worker


def test_redis_on_sqlite_stays_embedded(tmp_path: Path) -> None:
    settings = Settings(
        redis_url="redis://127.0.0.1:6379/0", database_url=f"sqlite+aiosqlite:///{tmp_path}/x.db"
    )

    assert not settings.scaled
    assert settings.runs_embedded_worker


@pytest.mark.parametrize(
    ("given", "expected"),
    [("true", EmbeddedWorker.ON), ("false", EmbeddedWorker.OFF), ("auto", EmbeddedWorker.AUTO)],
)
def test_the_embedded_worker_setting_takes_on_off_auto_and_the_old_true_false(
    given: str, expected: EmbeddedWorker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RELINK_EMBEDDED_WORKER", given)

    assert Settings().embedded_worker is expected


async def test_an_app_process_in_the_scaled_mode_sends_jobs_to_celery_and_schedules_nothing(
    pg_database_url: str, redis_server: PrivateRedis, secret_key: str
) -> None:
    settings = Settings(
        redis_url=redis_server.url, database_url=pg_database_url, secret_keys=secret_key
    )
    database = Database(pg_database_url)
    app = create_app(database=database, settings=settings)
    try:
        async with app.router.lifespan_context(app):
            assert isinstance(current_dispatcher(), CeleryDispatcher)
            assert app.state.scheduler._task is None
    finally:
        await database.dispose()


async def test_an_app_process_told_to_run_jobs_itself_does_so_even_when_scaled(
    pg_database_url: str, redis_server: PrivateRedis, secret_key: str
) -> None:
    settings = Settings(
        redis_url=redis_server.url,
        database_url=pg_database_url,
        embedded_worker="on",
        secret_keys=secret_key,
    )
    database = Database(pg_database_url)
    app = create_app(database=database, settings=settings)
    try:
        async with app.router.lifespan_context(app):
            assert isinstance(current_dispatcher(), EmbeddedDispatcher)
            assert app.state.scheduler._task is not None
    finally:
        await database.dispose()
