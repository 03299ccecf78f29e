"""Sign-in throttling: atomic, shared by every process, bounded, and no lockout weapon.

Every attempt reserves its place in the counts BEFORE the password is checked, by one atomic
increment that answers the new count; so thirty parallel guesses cannot all slip in under a
count that none of them has raised yet. The counts live where every app process sees them: the
database by default, Redis when ``RELINK_REDIS_URL`` is set. Each has an end and is pruned.

Three counts, each over a fixed window:

- e-mail + address: the hard limit. A guesser at one address stops here; so does the owner
  with a forgotten password, at their own address only.
- address: a wider limit across e-mails, for one address trying many accounts.
- e-mail, from addresses the account never signed in from: a backoff, not a lock. Past one
  address's worth of failures, checks of that e-mail go one at a time, each waiting a delay that
  doubles up to a short cap. Guessers spread over many addresses are slowed to a crawl; the
  owner, from an address they signed in from before, is not slowed at all, and from a new one
  waits that short cap at most. Nobody can lock anybody else out.

A success clears its e-mail + address count and gives back what it took from the others.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import case, delete, literal, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.expression import BindParameter, Executable

from relink.db import Database
from relink.errors import RelinkError
from relink.models import LoginAttempt
from relink.models.base import UTCDateTime, utcnow

if TYPE_CHECKING:
    from redis.asyncio import Redis

WINDOW = timedelta(minutes=15)
# Ten wrong passwords in fifteen minutes from one place for one account is past any typo.
PAIR_LIMIT = 10
# One address failing a hundred times across accounts is trying a list, not mistyping; an office
# behind one address stays far below it (successes give their count back).
ADDRESS_LIMIT = 100
# One address's worth of failures is free; the backoff only starts when more than one place,
# or a guesser rotating addresses, has failed.
EMAIL_FREE_FAILURES = PAIR_LIMIT
EMAIL_BACKOFF_FIRST = timedelta(seconds=1)
# The longest the owner can be kept waiting at a new address by someone else's guesses.
EMAIL_BACKOFF_CAP = timedelta(seconds=30)
# An address the owner signed in from is theirs for this long: the backoff does not apply there.
KNOWN_ADDRESS_LIFETIME = timedelta(days=30)
# Expired counts are deleted at most this often per process: cheap, and the table stays small.
PRUNE_INTERVAL = timedelta(minutes=1)


class TooManyAttempts(RelinkError):
    status_code = 429

    def __init__(self, wait_seconds: int) -> None:
        wait_seconds = max(1, wait_seconds)
        if wait_seconds < 90:
            amount = f"{wait_seconds} second{'s' if wait_seconds != 1 else ''}"
        else:
            minutes = round(wait_seconds / 60)
            amount = f"{minutes} minute{'s' if minutes != 1 else ''}"
        super().__init__(f"too many failed sign-ins; wait {amount} and try again")
        self.wait_seconds = wait_seconds


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


@dataclass
class Reservation:
    """The counts one attempt took; handed back to ``succeeded``."""

    email_key: str
    pair_key: str
    address_key: str
    known_key: str
    taken: list[str] = field(default_factory=list)


class LoginThrottle:
    """Reserve before checking a password; report success; failures stay counted."""

    def __init__(
        self,
        store: ThrottleStore,
        *,
        secret: str,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self._secret = secret.encode()
        self.clock = clock
        self._last_prune: datetime | None = None

    def _key(self, kind: str, *parts: str) -> str:
        # A keyed hash: the store never holds an e-mail or address a reader could take away.
        digest = hmac.new(self._secret, "\x00".join(parts).encode(), hashlib.sha256)
        return f"{kind}:{digest.hexdigest()[:48]}"

    async def reserve(self, *, email: str, address: str) -> Reservation:
        """Count this attempt in, or raise ``TooManyAttempts`` having counted nothing."""
        now = self.clock()
        await self._maybe_prune(now)
        email = email.strip().lower()
        reservation = Reservation(
            email_key=self._key("email", email),
            pair_key=self._key("pair", email, address),
            address_key=self._key("addr", address),
            known_key=self._key("known", email, address),
        )
        limits = ((reservation.pair_key, PAIR_LIMIT), (reservation.address_key, ADDRESS_LIMIT))
        for key, limit in limits:
            count, left = await self.store.hit(key, window=WINDOW, now=now)
            reservation.taken.append(key)
            if count > limit:
                await self._give_back(reservation, now)
                raise TooManyAttempts(_seconds(left))
        if await self.store.present(reservation.known_key, now=now):
            return reservation
        count, _ = await self.store.hit(reservation.email_key, window=WINDOW, now=now)
        reservation.taken.append(reservation.email_key)
        if count > EMAIL_FREE_FAILURES:
            wait = await self.store.claim(self._key("turn", email), hold=_backoff(count), now=now)
            if wait is not None:
                await self._give_back(reservation, now)
                raise TooManyAttempts(_seconds(wait))
        return reservation

    async def succeeded(
        self, reservation: Reservation, *, session: AsyncSession | None = None
    ) -> None:
        """The password was right: clear the pair, give back the rest, remember the address.

        ``session``: the request's own transaction, so a sign-in never holds two connections.
        """
        now = self.clock()
        await self.store.forget(reservation.pair_key, session=session)
        others = [k for k in reservation.taken if k != reservation.pair_key]
        await self.store.refund(others, now=now, session=session)
        await self.store.remember(
            reservation.known_key, lifetime=KNOWN_ADDRESS_LIFETIME, now=now, session=session
        )

    async def close(self) -> None:
        await self.store.close()

    async def _give_back(self, reservation: Reservation, now: datetime) -> None:
        await self.store.refund(reservation.taken, now=now)
        reservation.taken.clear()

    async def _maybe_prune(self, now: datetime) -> None:
        if self._last_prune is not None and now - self._last_prune < PRUNE_INTERVAL:
            return
        self._last_prune = now
        await self.store.prune(now=now)


def _backoff(failures: int) -> timedelta:
    """1 s, 2 s, 4 s … up to the cap, for each failure past the free ones."""
    doublings: int = min(failures - EMAIL_FREE_FAILURES - 1, 16)
    return min(EMAIL_BACKOFF_FIRST * (1 << doublings), EMAIL_BACKOFF_CAP)


def _seconds(left: timedelta) -> int:
    return max(1, int(left.total_seconds() + 0.999))


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


def build_throttle(*, database: Database, redis_url: str | None, secret: str) -> LoginThrottle:
    """Redis when configured (shared by every process and host), else the database."""
    store: ThrottleStore = RedisStore(redis_url) if redis_url else DatabaseStore(database)
    return LoginThrottle(store, secret=secret)
