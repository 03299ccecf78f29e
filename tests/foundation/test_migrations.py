"""Migrations go up from empty on both databases and match the models exactly."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, text

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


_BEFORE_AUTH_COPY = "0012_sqlite_search"
_ROWS = (
    "INSERT INTO agency (id, name, slug, created_at, updated_at) VALUES (1, 'A', 'a', :now, :now)",
    "INSERT INTO client (id, agency_id, name, created_at, updated_at)"
    " VALUES (1, 1, 'Acme', :now, :now)",
    'INSERT INTO "grant" (id, agency_id, provider, auth_kind, credentials, scopes, status,'
    " extra, refresh_failures, created_at, updated_at) VALUES"
    " (1, 1, 'stripe', 'api_key', 'x', '[]', 'active', '{}', 0, :now, :now),"
    " (2, 1, 'sandbox', 'oauth2', 'x', '[]', 'active', '{}', 0, :now, :now)",
    "INSERT INTO data_source (agency_id, client_id, grant_id, provider, external_account_id,"
    " external_account_name, status, consecutive_failures, client_name, created_at, updated_at)"
    " VALUES (1, 1, 1, 'stripe', 'k', 'Key', 'connected', 0, 'Acme', :now, :now),"
    " (1, 1, 2, 'sandbox', 'o', 'OAuth', 'connected', 0, 'Acme', :now, :now)",
)


def _copied_kinds(url: str) -> list[tuple[str, str]]:
    """Data sources written before their copy of the grant's auth kind existed, migrated."""
    migrate.upgrade(url, _BEFORE_AUTH_COPY)
    # A synchronous engine of the same database: the async drivers' names dropped.
    engine = create_engine(url.replace("+aiosqlite", ""))
    try:
        with engine.begin() as connection:
            for statement in _ROWS:
                connection.execute(text(statement), {"now": datetime.now(UTC)})
        migrate.upgrade(url)
        with engine.connect() as connection:
            return [
                (provider, kind)
                for provider, kind in connection.execute(
                    text("SELECT provider, auth_kind FROM data_source ORDER BY provider")
                )
            ]
    finally:
        engine.dispose()


def test_sqlite_copies_each_grants_auth_kind_onto_its_data_sources(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'kinds.db'}"

    assert _copied_kinds(url) == [("sandbox", "oauth2"), ("stripe", "api_key")]


def test_postgresql_copies_each_grants_auth_kind_onto_its_data_sources(
    pg_databases: PostgresDatabases,
) -> None:
    require_postgres()
    url = async_url(pg_databases.create("relink_migrate"))

    assert _copied_kinds(url) == [("sandbox", "oauth2"), ("stripe", "api_key")]
