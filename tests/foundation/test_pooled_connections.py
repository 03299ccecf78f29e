"""A pooled connection that idled is pinged before use and replaced when it died; one handed
back a moment ago is used as it is (no round trip per request)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from relink import db
from relink.db import Database


async def _backend_pid(database: Database) -> int:
    async with database.engine.connect() as connection:
        return int((await connection.execute(text("select pg_backend_pid()"))).scalar_one())


async def test_a_connection_that_died_while_idle_is_replaced_before_use(
    pg_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = Database(pg_database_url)
    witness = Database(pg_database_url)
    try:
        first = await _backend_pid(database)
        async with witness.engine.connect() as connection:
            await connection.execute(text(f"select pg_terminate_backend({first})"))
        monkeypatch.setattr(db, "TRUSTED_IDLE_SECONDS", 0.0)

        again = await _backend_pid(database)

        assert again != first
    finally:
        await database.dispose()
        await witness.dispose()


async def test_only_a_connection_that_idled_is_pinged(
    pg_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = Database(pg_database_url)
    dialect = database.engine.sync_engine.dialect
    pings: list[object] = []
    real_ping = dialect.do_ping

    def counted(dbapi_connection: object) -> bool:
        pings.append(dbapi_connection)
        return real_ping(dbapi_connection)

    monkeypatch.setattr(dialect, "do_ping", counted)
    try:
        await _backend_pid(database)
        await _backend_pid(database)
        handed_back_at_once = len(pings)
        monkeypatch.setattr(db, "TRUSTED_IDLE_SECONDS", 0.0)
        await _backend_pid(database)
    finally:
        await database.dispose()

    assert handed_back_at_once == 0
    assert len(pings) == 1
