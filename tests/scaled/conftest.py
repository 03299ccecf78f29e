"""The scaled mode's story runs where PostgreSQL and redis-server exist (always in CI)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from relink import migrate
from tests.fixtures.database import PostgresDatabases, async_url, require_postgres
from tests.fixtures.redis_server import private_redis
from tests.fixtures.sandbox import SandboxServer
from tests.scaled.cluster import Cluster


@pytest.fixture
def scaled_database_url(pg_databases: PostgresDatabases) -> str:
    """A fresh, migrated PostgreSQL database of this test's own (dropped at the end)."""
    require_postgres()
    url = async_url(pg_databases.create(prefix="relink_scaled"))
    migrate.upgrade(url)
    return url


@pytest.fixture
def cluster(
    scaled_database_url: str, secret_key: str, sandbox: SandboxServer, tmp_path: Path
) -> Iterator[Cluster]:
    """No process yet: the test starts what it needs; all are stopped at the end."""
    with private_redis() as redis:
        running = Cluster(
            database_url=scaled_database_url,
            secret_key=secret_key,
            sandbox_url=sandbox.url,
            redis=redis,
            var_dir=tmp_path / "var",
        )
        running.var_dir.mkdir()
        try:
            yield running
        finally:
            running.stop_all()
