"""Engines and the unit of work: the boundary (a request, a job, a command) commits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from relink.config import get_settings
from relink.kit.private_files import private_dir, private_sqlite_file


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An engine for ``url``; SQLite gets WAL and foreign keys so it behaves like PostgreSQL."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            _private_sqlite(Path(parsed.database))
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    import os

    return create_async_engine(url, pool_pre_ping=not os.environ.get("NOPING"), **kwargs)


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


class Database:
    """One engine and its session factory."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_engine(url)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

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

    async def dispose(self) -> None:
        await self.engine.dispose()


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
