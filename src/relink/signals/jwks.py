"""Issuers' published keys (JWKS), fetched with the shared HTTP client and cached.

One rule: at most one fetch of a key set per ``REFETCH_PAUSE`` per URL in this process,
whatever the fetch's outcome. The pause starts when a fetch starts, so every attempt counts:
a key set, a non-2xx, a timeout, a lost or refused connection, a body that is not a key set.
Callers that arrive while a fetch is under way wait for that fetch and share its outcome.
Inside the pause a caller gets the last key set fetched, if any (a made-up key id then fails to
verify), or the last attempt's failure. So neither a stream of forged tokens with made-up key
ids nor an issuer that is down can turn the receiver into a fetching loop against the issuer.

The last key set fetched stays in use while later fetches fail (an issuer's outage is not a
key rotation). The pause is per process: N receiver processes fetch at most N times per pause.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from relink.providers.http import HttpClient, NoAnswer

log = structlog.get_logger(__name__)

# A key set is asked for again after this long even when every key id is known.
CACHE_SECONDS = 3600.0
REFETCH_PAUSE = 30.0
# A key set is a few kilobytes; a receiver request (a transmitter's push) waits on the fetch,
# so an issuer that has not answered in this long is treated as down.
FETCH_TIMEOUT_SECONDS = 10.0


class KeysUnavailable(Exception):
    """The issuer's key set could not be fetched or read."""


@dataclass
class _Entry:
    """What is known about one URL's key set."""

    keys: KeySet | None = None
    fetched_at: float = 0.0
    # When the last fetch started, whatever came of it: the start of the pause.
    attempted_at: float | None = None
    # Why the last fetch failed; None after one that brought a key set.
    failure: str | None = None
    inflight: asyncio.Task[KeySet] | None = None


class JwksCache:
    """Key sets by URL; ``clock`` (monotonic seconds) and ``fetch_timeout`` for tests."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        fetch_timeout: float = FETCH_TIMEOUT_SECONDS,
    ) -> None:
        self._entries: dict[str, _Entry] = {}
        self._clock = clock
        self._fetch_timeout = fetch_timeout

    async def keys(self, http: HttpClient, url: str, *, refresh: bool = False) -> KeySet:
        """The key set at ``url``; ``refresh`` (a key id we do not know) asks the issuer again
        unless it was asked less than ``REFETCH_PAUSE`` ago.

        Raises ``KeysUnavailable`` when no key set was ever fetched and the issuer gives none.
        """
        entry = self._entries.setdefault(url, _Entry())
        now = self._clock()
        if entry.keys is not None and not refresh and now - entry.fetched_at < CACHE_SECONDS:
            return entry.keys
        shared = _running(entry.inflight)
        if shared is None:
            if entry.attempted_at is not None and now - entry.attempted_at < REFETCH_PAUSE:
                return _paused(entry, url, wait=REFETCH_PAUSE - (now - entry.attempted_at))
            entry.attempted_at = now
            shared = entry.inflight = asyncio.ensure_future(self._fetch(http, url, entry))
            shared.add_done_callback(lambda task: _finished(entry, task))
        # Shielded: a caller that gives up (its request ended) leaves the fetch to the others.
        return await asyncio.shield(shared)

    async def _fetch(self, http: HttpClient, url: str, entry: _Entry) -> KeySet:
        try:
            async with asyncio.timeout(self._fetch_timeout):
                answer = await http.request("GET", url)
        except (NoAnswer, TimeoutError):
            return _failed(entry, url, f"no answer from {url}")
        if not answer.ok:
            return _failed(entry, url, f"{url} answered {answer.status}")
        try:
            keys = KeySet.import_key_set(json.loads(answer.body))
        except (ValueError, JoseError, KeyError, TypeError) as exc:
            return _failed(entry, url, f"{url} is not a key set ({type(exc).__name__})")
        entry.keys, entry.fetched_at, entry.failure = keys, self._clock(), None
        return keys

    def clear(self) -> None:
        """Forget every key set and pause (a fetch under way still finishes for its callers)."""
        self._entries.clear()


def _running(task: asyncio.Task[KeySet] | None) -> asyncio.Task[KeySet] | None:
    """The fetch under way in this event loop, to share; a task of another loop is not."""
    if task is None or task.done() or task.get_loop() is not asyncio.get_running_loop():
        return None
    return task


def _finished(entry: _Entry, task: asyncio.Task[KeySet]) -> None:
    if entry.inflight is task:
        entry.inflight = None
    if not task.cancelled():
        # Read here so an outcome every caller gave up on is not reported as never retrieved.
        task.exception()


def _failed(entry: _Entry, url: str, reason: str) -> KeySet:
    entry.failure = reason
    log.warning("signals.jwks.fetch_failed", url=url, reason=reason, pause_s=REFETCH_PAUSE)
    if entry.keys is not None:
        return entry.keys
    raise KeysUnavailable(reason)


def _paused(entry: _Entry, url: str, *, wait: float) -> KeySet:
    if entry.keys is not None:
        return entry.keys
    reason = entry.failure or f"the last fetch of {url} did not finish"
    raise KeysUnavailable(f"{reason}; not asked again for {wait:.0f} s")


# One per process: every receiver request shares it.
jwks_cache = JwksCache()
