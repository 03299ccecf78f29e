"""A session opened for reading (Database.reading) reads without a transaction to commit,
and refuses to write: nothing it was given is written."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text, update

from relink.db import Database, ReadOnlyWrite
from relink.models import Agency


async def _agencies(database: Database) -> int:
    async with database.transaction() as session:
        return int(await session.scalar(select(func.count(Agency.id))) or 0)


async def test_a_reading_session_reads_what_is_committed(database_url: str) -> None:
    database = Database(database_url)
    try:
        async with database.transaction() as session:
            session.add(Agency(name="Read", slug="read"))
        async with database.reading() as session:
            names = list(await session.scalars(select(Agency.name)))
    finally:
        await database.dispose()

    assert names == ["Read"]


async def test_a_reading_session_refuses_a_write_and_writes_nothing(database_url: str) -> None:
    database = Database(database_url)
    try:
        with pytest.raises(ReadOnlyWrite):
            async with database.reading() as session:
                session.add(Agency(name="Sneaky", slug="sneaky"))
                await session.flush()
        written = await _agencies(database)
    finally:
        await database.dispose()

    assert written == 0


async def test_an_update_statement_is_refused(database_url: str) -> None:
    database = Database(database_url)
    try:
        async with database.transaction() as session:
            session.add(Agency(name="Kept", slug="kept"))
        with pytest.raises(ReadOnlyWrite):
            async with database.reading() as session:
                await session.execute(update(Agency).values(name="Renamed"))
        async with database.reading() as session:
            names = list(await session.scalars(select(Agency.name)))
    finally:
        await database.dispose()

    assert names == ["Kept"]


async def test_a_write_is_refused_even_when_a_read_would_flush_it(database_url: str) -> None:
    database = Database(database_url)
    try:
        with pytest.raises(ReadOnlyWrite):
            async with database.reading() as session:
                session.add(Agency(name="Autoflushed", slug="autoflushed"))
                await session.scalar(select(func.count(Agency.id)))
        written = await _agencies(database)
    finally:
        await database.dispose()

    assert written == 0


async def test_the_pool_s_connections_still_open_transactions_after_a_read(
    database_url: str,
) -> None:
    database = Database(database_url)
    try:
        async with database.reading() as session:
            await session.scalar(select(func.count(Agency.id)))
        # The same pooled connection, back in its transactional mode: a rollback undoes.
        with pytest.raises(RuntimeError):
            async with database.transaction() as session:
                session.add(Agency(name="Undone", slug="undone"))
                await session.flush()
                raise RuntimeError("the request failed")
        written = await _agencies(database)
    finally:
        await database.dispose()

    assert written == 0


async def test_a_read_leaves_no_transaction_open_on_the_server(database: Database) -> None:
    if database.is_sqlite:
        pytest.skip("SQLite has no server sessions to look at; PostgreSQL runs this in CI")
    async with database.reading() as session:
        await session.scalar(select(func.count(Agency.id)))
        async with database.transaction() as watcher:
            waiting = await watcher.scalar(
                select(func.count())
                .select_from(text("pg_stat_activity"))
                .where(
                    text("datname = current_database()"),
                    text("state = 'idle in transaction'"),
                    text("pid <> pg_backend_pid()"),
                )
            )

    assert waiting == 0


async def test_no_connection_is_left_out_after_a_reading_block(database: Database) -> None:
    async with database.reading() as session:
        await session.scalar(select(func.count(Agency.id)))
    async with database.reading():
        pass

    assert database.read_engine.sync_engine.pool.checkedout() == 0
