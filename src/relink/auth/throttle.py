"""Sign-in throttling: atomic, shared by every process, bounded, and no lockout weapon.

Every attempt reserves its place in the counts BEFORE the password is checked, by one atomic
increment that answers the new count; so thirty parallel guesses cannot all slip in under a
count that none of them has raised yet. The counts live where every app process sees them: the
database by default, Redis when ``RELINK_REDIS_URL`` is set. Each has an end and is pruned.

Three counts, each over a fixed window, and a fourth for browsers the account knows:

- e-mail + address: the hard limit. A guesser at one address stops here; so does the owner
  with a forgotten password, at their own address only.
- address: a wider limit across e-mails, for one address trying many accounts. It does not
  apply to an attempt presenting a device cookie of the account it names
  (``relink.auth.device_cookie``): behind an office NAT one visitor's spraying would otherwise
  lock out everyone at that address, the owner in a browser they signed in from included.
- e-mail, from addresses the account never signed in from: a backoff, not a lock. Past one
  address's worth of failures, checks of that e-mail go one at a time, each waiting a delay that
  doubles up to a short cap. Guessers spread over many addresses are slowed to a crawl; the
  owner, from an address they signed in from before, is not slowed at all, and from a new one
  waits that short cap at most. Nobody can lock anybody else out.
- device cookie: its own failures, for a cookie that was stolen. Past the limit it is trusted
  no more for the window (the address limit applies again); the e-mail counts above apply to
  an attempt with a device cookie as to any other, and its failures count in them.

A success clears its e-mail + address count and its device's, and gives back what it took
from the others.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from relink.auth.device_cookie import DeviceCookies, KnownDevice
from relink.auth.throttle_store import DatabaseStore, RedisStore, ThrottleStore
from relink.db import Database
from relink.errors import RelinkError
from relink.models.base import utcnow

WINDOW = timedelta(minutes=15)
# Ten wrong passwords in fifteen minutes from one place for one account is past any typo.
PAIR_LIMIT = 10
# One address failing a hundred times across accounts is trying a list, not mistyping; an office
# behind one address stays far below it (successes give their count back).
ADDRESS_LIMIT = 100
# A device cookie that failed this often is trusted no more: a stolen one buys a few guesses past
# the address limit, never a way to guess on (the owner's own typos stay far below it).
DEVICE_LIMIT = 10
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

    @property
    def headers(self) -> dict[str, str] | None:
        # When to come back, in the header clients and proxies read.
        return {"Retry-After": str(self.wait_seconds)}


@dataclass
class Reservation:
    """The counts one attempt took; handed back to ``succeeded``."""

    email_key: str
    pair_key: str
    address_key: str
    known_key: str
    # The device cookie's count, when the attempt presented one of the account it names.
    device_key: str | None = None
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
        # Signed with the same secret under a salt of their own.
        self.devices = DeviceCookies(secret)
        self._last_prune: datetime | None = None

    def _key(self, kind: str, *parts: str) -> str:
        # A keyed hash: the store never holds an e-mail or address a reader could take away.
        digest = hmac.new(self._secret, "\x00".join(parts).encode(), hashlib.sha256)
        return f"{kind}:{digest.hexdigest()[:48]}"

    async def reserve(
        self, *, email: str, address: str, device: KnownDevice | None = None
    ) -> Reservation:
        """Count this attempt in, or raise ``TooManyAttempts`` having counted nothing.

        ``device``: the attempt's device cookie, already read for this very ``email``
        (``DeviceCookies.read``); while it is under its own limit the address limit is waived.
        """
        now = self.clock()
        await self._maybe_prune(now)
        email = email.strip().lower()
        reservation = Reservation(
            email_key=self._key("email", email),
            pair_key=self._key("pair", email, address),
            address_key=self._key("addr", address),
            known_key=self._key("known", email, address),
        )
        known_device = False
        if device is not None:
            reservation.device_key = self._key("device", device.nonce)
            count, _ = await self.store.hit(reservation.device_key, window=WINDOW, now=now)
            reservation.taken.append(reservation.device_key)
            known_device = count <= DEVICE_LIMIT
        limits = [(reservation.pair_key, PAIR_LIMIT)]
        if not known_device:
            limits.append((reservation.address_key, ADDRESS_LIMIT))
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
        """The password was right: clear the pair and the device, give back the rest, remember
        the address.

        ``session``: the request's own transaction, so a sign-in never holds two connections.
        """
        now = self.clock()
        cleared = [reservation.pair_key]
        if reservation.device_key is not None:
            # Whoever holds this cookie knows the password: its failures were typos.
            cleared.append(reservation.device_key)
        for key in cleared:
            await self.store.forget(key, session=session)
        others = [k for k in reservation.taken if k not in cleared]
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


def build_throttle(*, database: Database, redis_url: str | None, secret: str) -> LoginThrottle:
    """Redis when configured (shared by every process and host), else the database."""
    store: ThrottleStore = RedisStore(redis_url) if redis_url else DatabaseStore(database)
    return LoginThrottle(store, secret=secret)
