"""Which database errors mean "the database is away" (a 503 with a reason), raised by real
databases: refused and dropped connections, a pool with no free connection, a locked or
unopenable SQLite file. A statement's own error stays a bug. And once a backend is gone,
every pool of the database stops handing out the connections it held from before."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from relink import db
from relink.db import Database, database_unavailable
from relink.kit.driver_reads import driver_rows

# Nothing listens on port 1 of loopback: connections are refused at once.
UNREACHABLE_POSTGRES = "postgresql+psycopg://nobody@127.0.0.1:1/nothing"
BACKEND_PID = select(func.pg_backend_pid())


async def _raised_by(database_url: str, statement: str) -> BaseException:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    except Exception as raised:
        return raised
    finally:
        await engine.dispose()
    raise AssertionError(f"{statement!r} raised nothing")


async def test_a_refused_connection_is_the_database_away() -> None:
    raised = await _raised_by(UNREACHABLE_POSTGRES, "SELECT 1")

    away = database_unavailable(raised)

    assert away is not None and away.status_code == 503
    assert away.reason == "no connection to it could be opened"
    assert away.headers == {"Retry-After": "5"}


def test_a_driver_error_sqlalchemy_never_wrapped_is_the_database_away_too() -> None:
    with pytest.raises(psycopg.OperationalError) as raised:
        psycopg.connect(UNREACHABLE_POSTGRES.replace("+psycopg", ""), connect_timeout=5)

    away = database_unavailable(raised.value)

    assert away is not None and away.reason == "no connection to it could be opened"


async def test_a_statement_error_stays_a_bug(database_url: str) -> None:
    raised = await _raised_by(database_url, "SELECT * FROM no_such_table")

    assert database_unavailable(raised) is None


async def test_a_pool_with_no_free_connection_is_the_database_away(database_url: str) -> None:
    engine = db.create_engine(database_url, pool_size=1, max_overflow=0, pool_timeout=0.01)
    try:
        async with engine.connect() as held:
            await held.execute(text("SELECT 1"))
            with pytest.raises(Exception) as raised:
                await engine.connect()
    finally:
        await engine.dispose()

    away = database_unavailable(raised.value)

    assert away is not None and away.reason == "every connection Relink keeps to it is busy"


def _sqlite_raised(path: Path, statement: str) -> DBAPIError:
    """What SQLAlchemy raises over ``path``'s SQLite database, waiting for no lock (the app
    waits busy_timeout first, then meets the same error). The driver's sync twin: aiosqlite's
    thread would outlive a failed connect past the test's event loop."""
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0})
    try:
        with pytest.raises(DBAPIError) as raised, engine.connect() as connection:
            connection.execute(text(statement))
    finally:
        engine.dispose()
    return raised.value


def test_a_locked_sqlite_file_is_the_database_away(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        raised = _sqlite_raised(path, "SELECT * FROM t")
    finally:
        holder.close()

    away = database_unavailable(raised)

    assert away is not None and away.reason == "its file is locked by another writer"


def test_an_unopenable_sqlite_file_is_the_database_away(tmp_path: Path) -> None:
    # A folder where the file should be: SQLite cannot open it, whoever runs the test.
    (tmp_path / "relink.db").mkdir()

    away = database_unavailable(_sqlite_raised(tmp_path / "relink.db", "SELECT 1"))

    assert away is not None and away.reason == "its file cannot be opened"


async def _pids_held(database: Database) -> list[int]:
    """Two reading connections and one writing connection, each handed back to its pool."""
    async with database.reading() as first, database.reading() as second:
        pids = [(await driver_rows(s, BACKEND_PID, {}))[0][0] for s in (first, second)]
    async with database.transaction() as session:
        pids.append(await session.scalar(BACKEND_PID))
    return pids


async def _end_backends(database_url: str, pids: list[int]) -> None:
    """Each of ``pids`` ended by the server, and gone (waiting up to 10 s for each)."""
    end = text("SELECT pg_terminate_backend(:pid, 10000)")
    witness = Database(database_url)
    try:
        async with witness.transaction() as session:
            for pid in pids:
                await session.execute(end, {"pid": pid})
    finally:
        await witness.dispose()


async def test_a_driver_read_on_an_ended_backend_raises_as_sqlalchemy_would(
    pg_database_url: str,
) -> None:
    database = Database(pg_database_url)
    try:
        await _end_backends(pg_database_url, await _pids_held(database))

        with pytest.raises(DBAPIError) as raised:
            async with database.reading() as session:
                await driver_rows(session, BACKEND_PID, {})
    finally:
        await database.dispose()

    assert raised.value.connection_invalidated
    assert database_unavailable(raised.value) is not None


async def test_after_one_read_meets_an_ended_backend_every_pool_answers_the_next(
    pg_database_url: str,
) -> None:
    database = Database(pg_database_url)
    try:
        held = await _pids_held(database)
        await _end_backends(pg_database_url, held)
        with pytest.raises(DBAPIError):
            async with database.reading() as session:
                await driver_rows(session, BACKEND_PID, {})

        # The reading pool's other connection and the writing pool's were dropped too.
        async with database.reading() as session:
            ((reading,),) = await driver_rows(session, BACKEND_PID, {})
        async with database.transaction() as session:
            writing = await session.scalar(BACKEND_PID)
    finally:
        await database.dispose()

    assert reading not in held and writing not in held
