"""Alembic environment: runs migrations over the async engine of the configured database."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from alembic import context
from sqlalchemy.engine import Connection

import relink.models  # noqa: F401  (registers every table on Base.metadata)
from relink.db import create_engine
from relink.models.base import Base
from relink.models.data_source import SQLITE_SEARCH_TABLE

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from relink.config import get_settings

    return get_settings().effective_database_url


def _include_name(name: str | None, type_: str, _parent: object) -> bool:
    # SQLite's full-text index of data source names (0012) and its shadow tables are kept by
    # the migration and triggers, not by the models: not drift.
    return not (type_ == "table" and (name or "").startswith(SQLITE_SEARCH_TABLE))


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_name=_include_name,
        compare_type=True,
        # SQLite cannot ALTER constraints in place; batch mode rebuilds the table.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = create_engine(_url())
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
    else:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            asyncio.run(_run_async())
        else:
            # Called from inside a running loop (a test harness, a browser driver): use a
            # thread of its own so the migration gets a loop of its own.
            with ThreadPoolExecutor(max_workers=1) as pool:
                pool.submit(asyncio.run, _run_async()).result()
