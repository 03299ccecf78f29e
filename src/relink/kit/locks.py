"""A lease lock stored on a row: taken with an owner token, released only by that owner.

It works the same on SQLite and PostgreSQL and across processes, because taking and releasing
are single conditional UPDATEs committed at once.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute


class Transactions(Protocol):
    """Whatever opens a committed unit of work (``relink.db.Database``); kit knows no wiring."""

    def transaction(self) -> AbstractAsyncContextManager[AsyncSession]: ...


class LeaseLock:
    """A lease on one row, through its ``owner`` and ``expires`` columns."""

    def __init__(
        self,
        database: Transactions,
        *,
        id_column: InstrumentedAttribute[int],
        owner_column: InstrumentedAttribute[str | None],
        expires_column: InstrumentedAttribute[datetime | None],
        row_id: int,
        ttl: timedelta,
    ) -> None:
        self.database = database
        self.id_column = id_column
        self.owner_column = owner_column
        self.expires_column = expires_column
        self.row_id = row_id
        self.ttl = ttl
        self.owner = secrets.token_hex(16)

    async def acquire(self, *, now: datetime) -> bool:
        """Take the lease when it is free or its holder's lease ran out."""
        table = self.id_column.class_
        statement = (
            update(table)
            .where(
                self.id_column == self.row_id,
                (self.owner_column.is_(None)) | (self.expires_column < now),
            )
            .values({self.owner_column: self.owner, self.expires_column: now + self.ttl})
            .execution_options(synchronize_session=False)
        )
        async with self.database.transaction() as session:
            result = await session.execute(statement)
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    async def release(self) -> bool:
        """Compare-and-delete: only the owner's token clears the lease."""
        table = self.id_column.class_
        statement = (
            update(table)
            .where(self.id_column == self.row_id, self.owner_column == self.owner)
            .values({self.owner_column: None, self.expires_column: None})
            .execution_options(synchronize_session=False)
        )
        async with self.database.transaction() as session:
            result = await session.execute(statement)
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    @asynccontextmanager
    async def held(self, *, now: datetime) -> AsyncIterator[bool]:
        """Yield whether the lease was taken; release it afterwards if it was."""
        taken = await self.acquire(now=now)
        try:
            yield taken
        finally:
            if taken:
                await self.release()
