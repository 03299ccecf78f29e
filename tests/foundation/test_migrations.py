"""Migrations go up from empty on both databases and match the models exactly."""

from __future__ import annotations

from pathlib import Path

from relink import migrate
from tests.fixtures.database import PostgresDatabases, async_url, require_postgres


def test_sqlite_migrates_from_empty_without_drift(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"

    migrate.upgrade(url)

    migrate.check(url)


def test_postgresql_migrates_from_empty_without_drift(pg_databases: PostgresDatabases) -> None:
    require_postgres()
    url = async_url(pg_databases.create("relink_migrate"))

    migrate.upgrade(url)

    migrate.check(url)


def test_migrating_twice_changes_nothing(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'twice.db'}"
    migrate.upgrade(url)

    migrate.upgrade(url)

    migrate.check(url)
