"""Where the sign-in counts live: the database by default, Redis when configured.

Each operation is atomic on its own and across processes: one upsert that answers the new
count, or one Redis transaction. Every key has an end; ended keys mean nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import case, delete, literal, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.expression import BindParameter, Executable

from relink.db import Database
from relink.models import LoginAttempt
from relink.models.base import UTCDateTime

if TYPE_CHECKING:
    from redis.asyncio import Redis


class ThrottleStore(Protocol):
    """Where the counts live; every method is atomic on its own, across processes."""

    async def hit(self, key: str, *, window: timedelta, now: datetime) -> tuple[int, timedelta]:
        """Add one to ``key`` (a new window when absent or ended); the count and its time left."""
        ...

    async def refund(
        self, keys: Sequence[str], *, now: datetime, session: AsyncSession | None = None
    ) -> None:
        """Take one back from each of ``keys`` still counting (never below zero)."""
        ...

    async def claim(self, key: str, *, hold: timedelta, now: datetime) -> timedelta | None:
        """Take the turn ``key`` for ``hold`` if free: None when taken, else the time left."""
        ...

    async def forget(self, key: str, *, session: AsyncSession | None = None) -> None:
        """Drop ``key``."""
        ...

    async def remember(
        self, key: str, *, lifetime: timedelta, now: datetime, session: AsyncSession | None = None
    ) -> None:
        """Keep ``key`` present for ``lifetime``."""
        ...

    async def present(self, key: str, *, now: datetime) -> bool:
        """Whether ``key`` exists and has not ended."""
        ...

    async def prune(self, *, now: datetime) -> int:
        """Delete ended keys; how many went."""
        ...

    async def close(self) -> None: ...


class DatabaseStore:
    """Counts in the ``login_attempt`` table: one upsert per step, committed at once."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._insert = postgresql_insert if not database.is_sqlite else sqlite_insert

    async def hit(self, key: str, *, window: timedelta, now: datetime) -> tuple[int, timedelta]:
        moment, ends = _at(now), _at(now + window)
        ended = LoginAttempt.expires_at <= moment
        insert = self._insert(LoginAttempt).values(key=key, hits=1, expires_at=now + window)
        statement = insert.on_conflict_do_update(
            index_elements=[LoginAttempt.key],
            set_={
                "hits": case((ended, 1), else_=LoginAttempt.hits + 1),
                "expires_at": case((ended, ends), else_=LoginAttempt.expires_at),
            },
        ).returning(LoginAttempt.hits, LoginAttempt.expires_at)
        async with self.database.transaction() as session:
            hits, expires_at = (await session.execute(statement)).one()
        return hits, expires_at - now

    async def refund(
        self, keys: Sequence[str], *, now: datetime, session: AsyncSession | None = None
    ) -> None:
        if not keys:
            return
        statement = (
            update(LoginAttempt)
            .where(
                LoginAttempt.key.in_(list(keys)),
                LoginAttempt.hits > 0,
                LoginAttempt.expires_at > now,
            )
            .values(hits=LoginAttempt.hits - 1)
            .execution_options(synchronize_session=False)
        )
        await self._run(statement, session)

    async def claim(self, key: str, *, hold: timedelta, now: datetime) -> timedelta | None:
        insert = self._insert(LoginAttempt).values(key=key, hits=1, expires_at=now + hold)
        statement = insert.on_conflict_do_update(
            index_elements=[LoginAttempt.key],
            set_={"hits": 1, "expires_at": _at(now + hold)},
            where=LoginAttempt.expires_at <= _at(now),
        ).returning(LoginAttempt.key)
        async with self.database.transaction() as session:
            if (await session.execute(statement)).first() is not None:
                return None
            held_until: datetime | None = await session.scalar(
                select(LoginAttempt.expires_at).where(LoginAttempt.key == key)
            )
        return (held_until - now) if held_until is not None else timedelta(0)

    async def forget(self, key: str, *, session: AsyncSession | None = None) -> None:
        await self._run(delete(LoginAttempt).where(LoginAttempt.key == key), session)

    async def remember(
        self, key: str, *, lifetime: timedelta, now: datetime, session: AsyncSession | None = None
    ) -> None:
        statement = self._insert(LoginAttempt).values(key=key, hits=0, expires_at=now + lifetime)
        statement = statement.on_conflict_do_update(
            index_elements=[LoginAttempt.key], set_={"expires_at": _at(now + lifetime)}
        )
        await self._run(statement, session)

    async def present(self, key: str, *, now: datetime) -> bool:
        async with self.database.sessions() as session:
            found = await session.scalar(
                select(LoginAttempt.key).where(
                    LoginAttempt.key == key, LoginAttempt.expires_at > now
                )
            )
        return found is not None

    async def prune(self, *, now: datetime) -> int:
        async with self.database.transaction() as session:
            result = await session.execute(
                delete(LoginAttempt)
                .where(LoginAttempt.expires_at <= now)
                .execution_options(synchronize_session=False)
            )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def close(self) -> None:
        """The database belongs to the app; nothing of the store's own to close."""

    async def _run(self, statement: Executable, session: AsyncSession | None) -> None:
        """In the caller's transaction when given one, else in one of its own."""
        if session is not None:
            await session.execute(statement)
            return
        async with self.database.transaction() as own:
            await own.execute(statement)


def _at(moment: datetime) -> BindParameter[datetime]:
    """A bound timestamp typed as the column, so both databases compare it like the column."""
    return literal(moment, UTCDateTime())


# Gives one back only while the key exists: a DECR on a gone key would make a key without end.
_REFUND_SCRIPT = """
for i, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 and tonumber(redis.call('GET', key)) > 0 then
    redis.call('DECR', key)
  end
end
return 0
"""


class RedisStore:
    """Counts in Redis: INCR and EXPIRE NX in one transaction, so every key has an end."""

    def __init__(self, url: str, *, prefix: str = "relink:login:") -> None:
        import redis.asyncio as redis

        self.redis: Redis = redis.from_url(url)
        self.prefix = prefix
        self._refund = self.redis.register_script(_REFUND_SCRIPT)

    async def hit(self, key: str, *, window: timedelta, now: datetime) -> tuple[int, timedelta]:
        name = self.prefix + key
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(name)
            pipe.expire(name, window, nx=True)
            pipe.pttl(name)
            count, _, left_ms = await pipe.execute()
        return int(count), timedelta(milliseconds=max(0, int(left_ms)))

    async def refund(
        self, keys: Sequence[str], *, now: datetime, session: AsyncSession | None = None
    ) -> None:
        if keys:
            await self._refund(keys=[self.prefix + k for k in keys])

    async def claim(self, key: str, *, hold: timedelta, now: datetime) -> timedelta | None:
        name = self.prefix + key
        if await self.redis.set(name, 1, nx=True, px=hold):
            return None
        return timedelta(milliseconds=max(0, int(await self.redis.pttl(name))))

    async def forget(self, key: str, *, session: AsyncSession | None = None) -> None:
        await self.redis.delete(self.prefix + key)

    async def remember(
        self, key: str, *, lifetime: timedelta, now: datetime, session: AsyncSession | None = None
    ) -> None:
        await self.redis.set(self.prefix + key, 1, ex=lifetime)

    async def present(self, key: str, *, now: datetime) -> bool:
        return bool(await self.redis.exists(self.prefix + key))

    async def prune(self, *, now: datetime) -> int:
        """Nothing to do: every key was written with its expiry."""
        return 0

    async def close(self) -> None:
        await self.redis.aclose()
