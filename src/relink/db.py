"""Engines and the unit of work: the boundary (a request, a job, a command) commits."""

from __future__ import annotations

import math
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session

from relink.config import get_settings
from relink.errors import DatabaseUnavailable
from relink.kit.private_files import private_dir, private_sqlite_file

# A pooled connection returned less than this long ago is used without a ping.
TRUSTED_IDLE_SECONDS = 5.0
_RETURNED_AT = "relink_returned_at"


class LastOutage:
    """When a pool of one database last saw the server go away: a connection dropped under a
    statement, a failed ping, a refused connect. SQLAlchemy then recycles the connections of
    the pool that saw it, but the server dropped the other pools' connections too (a
    database's writing and reading pools reach one server): each pool pings a connection
    handed back before that moment before using it."""

    __slots__ = ("seen_at",)

    def __init__(self) -> None:
        self.seen_at = -math.inf

    def seen(self) -> None:
        self.seen_at = time.monotonic()


def create_engine(url: str, *, outage: LastOutage | None = None, **kwargs: Any) -> AsyncEngine:
    """An engine for ``url``; SQLite gets WAL and foreign keys so it behaves like PostgreSQL.
    Engines sharing an ``outage`` (one database's pools) learn from each other's."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            _private_sqlite(Path(parsed.database))
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_async_engine(url, **kwargs)
    event.listen(engine.sync_engine, "connect", _utc_session)
    _ping_after_idling(engine, outage or LastOutage())
    return engine


def _utc_session(dbapi_connection: Any, _record: Any) -> None:
    """Every PostgreSQL session in UTC, whatever the server's default: times are read as
    aware UTC values as they come (models.base.UTCDateTime relies on it)."""
    autocommit = dbapi_connection.autocommit
    # Outside a transaction, so a rollback of the first one cannot undo it.
    dbapi_connection.autocommit = True
    cursor = dbapi_connection.cursor()
    cursor.execute("SET TIME ZONE 'UTC'")
    cursor.close()
    dbapi_connection.autocommit = autocommit


def _ping_after_idling(engine: AsyncEngine, outage: LastOutage) -> None:
    """Ping a pooled connection before use only when it has idled a while, or was handed
    back before the database was last seen gone.

    A connection handed back a moment ago was working then; pinging it before every request
    (``pool_pre_ping``) cost a round trip on every page. One that idled longer (a restarted
    server, a proxy's idle timeout) is pinged first, and replaced when the ping fails: the
    pool retries the checkout with a new connection. So is one handed back before any pool
    of this database saw it go away, however recently. A connection that dies within the
    window unseen fails its statement once and the pool discards every connection it held.
    """
    pool = engine.sync_engine.pool
    dialect = engine.sync_engine.dialect

    @event.listens_for(pool, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        record.info[_RETURNED_AT] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get(_RETURNED_AT)
        if returned is None or (
            time.monotonic() - returned < TRUSTED_IDLE_SECONDS and returned > outage.seen_at
        ):
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as failed:
            raise DisconnectionError("the pooled connection did not answer its ping") from failed

    @event.listens_for(pool, "invalidate")
    def _dropped(_dbapi_connection: Any, _record: Any, exception: BaseException | None) -> None:
        # A driver's error or a failed ping; not a connection let go on purpose.
        if isinstance(exception, dialect.loaded_dbapi.Error | DisconnectionError):
            outage.seen()

    @event.listens_for(engine.sync_engine, "handle_error")
    def _failed(context: ExceptionContext) -> None:
        # No connection: opening one failed (refused, timed out), which no pool's
        # invalidation reports.
        if context.connection is None:
            outage.seen()


def _private_sqlite(database: Path) -> None:
    """The database file 0600 and Relink's own var folder 0700 before SQLite opens anything."""
    folder = database.parent
    var_dir = get_settings().var_dir
    private_dir(folder, tighten_existing=folder.resolve() == var_dir.resolve())
    private_sqlite_file(database)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


# --- The database going away -----------------------------------------------------------------

# What a database error is raised as: SQLAlchemy's wrapping, its pool's timeout, or a driver's
# own error where code runs the driver itself (kit/driver_reads.py wraps its own; a path that
# forgets must still not answer a bare 500).
DATABASE_ERRORS: tuple[type[Exception], ...] = (
    sa_exc.DBAPIError,
    sa_exc.TimeoutError,
    psycopg.Error,
    sqlite3.Error,
)

# PostgreSQL's codes (SQLSTATE) that say why it is away, in a person's words.
_POSTGRES_AWAY = {
    "57P01": "it ended the connection: a restart, or an administrator",
    "57P02": "it is restarting after a crash",
    "57P03": "it is starting up or shutting down",
    "53300": "it has no free connections",
    "57014": "a statement ran out of time",
}
# SQLite's primary result codes that mean the file, not the statement, is the trouble; any
# other code (SQLITE_ERROR: no such table, a syntax error) is a bug and stays a 500.
_SQLITE_AWAY = {
    3: "its file may not be opened",  # SQLITE_PERM
    5: "its file is locked by another writer",  # SQLITE_BUSY, after busy_timeout
    6: "its file is locked by another writer",  # SQLITE_LOCKED
    8: "its file may not be written",  # SQLITE_READONLY
    10: "its file cannot be read or written",  # SQLITE_IOERR
    11: "its file is damaged",  # SQLITE_CORRUPT
    13: "its disk is full",  # SQLITE_FULL
    14: "its file cannot be opened",  # SQLITE_CANTOPEN
    26: "its file is not a database",  # SQLITE_NOTADB
}
_LOST = "the connection to it was lost"
# Whatever else PostgreSQL's driver calls an OperationalError (DB-API: an error of the
# database's operation, not of the statement): refused, timed out, not found.
_UNREACHABLE = "no connection to it could be opened"


def database_unavailable(error: BaseException) -> DatabaseUnavailable | None:
    """The 503 ``error`` means when it says the database is away (refused or dropped
    connections, a restart, no free connection, a locked or unreadable SQLite file); None
    for any other error, which is a bug and stays one (a 500)."""
    if isinstance(error, sa_exc.TimeoutError):
        return DatabaseUnavailable("every connection Relink keeps to it is busy")
    driver_error: BaseException | None = error
    lost = False
    if isinstance(error, sa_exc.DBAPIError):
        # SQLAlchemy saw the connection die under the statement (and dropped it from the pool).
        driver_error, lost = error.orig, error.connection_invalidated
    reason = _reason_away(driver_error)
    if reason is None and lost:
        reason = _LOST
    if reason is None and isinstance(driver_error, psycopg.OperationalError):
        reason = _UNREACHABLE
    return DatabaseUnavailable(reason) if reason is not None else None


def _reason_away(error: BaseException | None) -> str | None:
    """What a driver's own code for ``error`` says about the database, when it says it."""
    if isinstance(error, sqlite3.Error):
        # The primary code is the low byte of an extended one (SQLITE_IOERR_READ is 266).
        code = getattr(error, "sqlite_errorcode", None)
        return _SQLITE_AWAY.get(code & 0xFF) if isinstance(code, int) else None
    if isinstance(error, psycopg.Error):
        return _POSTGRES_AWAY.get(error.sqlstate or "")
    return None


class ReadOnlyWrite(RuntimeError):
    """Something was written through a session opened for reading."""


_WRITE_ELSEWHERE = "this session only reads: write through Database.transaction()"


class _ReadingSession(Session):
    """A unit of work that only reads: each statement commits on its own, so a write must fail
    loudly rather than land halfway. Changed objects and INSERT, UPDATE or DELETE statements
    given to it are refused."""

    def flush(self, objects: Any = None) -> None:
        if self.new or self.dirty or self.deleted:
            raise ReadOnlyWrite(_WRITE_ELSEWHERE)
        super().flush(objects)

    def execute(self, statement: Any, *args: Any, **kwargs: Any) -> Any:
        if getattr(statement, "is_dml", False):
            raise ReadOnlyWrite(_WRITE_ELSEWHERE)
        return super().execute(statement, *args, **kwargs)


class Database:
    """One engine and its session factories."""

    def __init__(self, url: str) -> None:
        self.url = url
        outage = LastOutage()
        self.engine = create_engine(url, outage=outage)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # Reads of one statement each need no transaction: no BEGIN and COMMIT round trips
        # (two of a listing's three). On PostgreSQL a pool of its own, in autocommit for good:
        # switching a shared connection's mode at checkout and back at checkin, and its
        # rollback on return, cost about 50 µs of the 1.3 ms of CPU a page of the Data
        # Sources API takes. It opens connections only when something reads through it (the
        # web app; workers and the CLI hardly ever).
        self.read_engine = (
            self.engine.execution_options(isolation_level="AUTOCOMMIT")
            if self.is_sqlite
            else create_engine(
                url, outage=outage, isolation_level="AUTOCOMMIT", pool_reset_on_return=None
            )
        )
        self.reads = async_sessionmaker(
            self.read_engine,
            expire_on_commit=False,
            sync_session_class=_ReadingSession,
        )

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session that commits when the block ends cleanly and rolls back otherwise."""
        async with self.sessions() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """A session for reads alone: each statement sees the database as it is then, there
        is nothing to commit, and a write raises ReadOnlyWrite."""
        async with self.reads() as session:
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.read_engine.sync_engine is not self.engine.sync_engine:
            await self.read_engine.dispose()


_default: Database | None = None


def default_database() -> Database:
    """The process-wide database of the configured URL."""
    global _default
    if _default is None:
        _default = Database(get_settings().effective_database_url)
    return _default


def set_default_database(database: Database | None) -> None:
    """Point the process at another database (tests, the CLI's ``--database``)."""
    global _default
    _default = database
