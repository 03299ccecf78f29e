"""Load over real HTTP (aiohttp on loopback): latencies beside the reference endpoint's, in
the same run and under the same load, and closed-loop throughput."""

from __future__ import annotations

import asyncio
import gc
import random
import statistics
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp

REFERENCE = "/healthz"
# Untimed requests per user before a paired measurement, as a person's first look: the pool's
# connections opened, templates compiled. Not more: a statement a user meets with a new search
# text or cursor is planned for it, and timing only after PostgreSQL settled on one plan for
# one value (twelve requests per user, once) hid the plans users met (see bench/pages.py).
WARM_ROUNDS = 1


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def summary(latencies: Sequence[float]) -> dict[str, float]:
    """p50 and p95 in milliseconds."""
    return {
        "p50_ms": round(percentile(latencies, 0.5) * 1000, 2),
        "p95_ms": round(percentile(latencies, 0.95) * 1000, 2),
        "n": len(latencies),
    }


@contextmanager
def steady_collector() -> Iterator[None]:
    """No cyclic garbage collection in this process while it times: a full collection of
    the load generator's heap (20-120 ms measured here, more after seeding 100k rows) would be
    timed as the app's latency, in one variant's requests and not its reference's. Garbage is
    collected before the window and the collector is back on after it (timeit does the same).
    """
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def client(limit: int = 0) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=limit, force_close=False),
        timeout=aiohttp.ClientTimeout(total=60),
        cookie_jar=aiohttp.DummyCookieJar(),
    )


# Who a request is from: a session cookie's value, or the headers to send (a bearer token).
Credential = str | Mapping[str, str]


def _headers(who: Credential | None) -> dict[str, str]:
    if who is None:
        return {}
    return {"Cookie": who} if isinstance(who, str) else dict(who)


async def _get(http: aiohttp.ClientSession, url: str, cookie: Credential | None) -> float:
    headers = _headers(cookie)
    started = time.perf_counter()
    async with http.get(url, headers=headers, allow_redirects=False) as answer:
        await answer.read()
        if answer.status != 200:
            raise RuntimeError(f"GET {url} answered {answer.status}")
    return time.perf_counter() - started


async def _settle(
    http: aiohttp.ClientSession,
    target: tuple[str, Credential | None],
    reference: tuple[str, Credential | None],
) -> None:
    """One untimed request of each side, (url, credential), after ``steady_collector``'s
    collection. The first request after the load generator paused ~50 ms or more costs ~3 ms
    where the next costs ~1.3, whatever the endpoint or credential (the app wakes up, not the
    query: one listing asked after pauses of 0 to 6 s, 7 December 2026). Timed, it went to the side
    asked first, the target, once per pass, and a 45-request p95 of three passes is their
    third-slowest request: the target's p95 was that wake-up's (bearer over cookie 1.46-2.18
    at equal p50s, 0.98-0.99)."""
    for url, credential in (target, reference):
        await _get(http, url, credential)


async def _repeat(http: aiohttp.ClientSession, url: str, cookie: Credential, times: int) -> None:
    for _ in range(times):
        await _get(http, url, cookie)


@dataclass(frozen=True)
class Paired:
    """One endpoint's latencies and the reference's, taken alternately by the same workers."""

    target: list[float]
    reference: list[float]

    @classmethod
    def pooled(cls, passes: Sequence[Paired]) -> Paired:
        """Several measurements of the same endpoint as one."""
        return cls(
            [t for one in passes for t in one.target],
            [r for one in passes for r in one.reference],
        )

    def figures(self) -> dict[str, Any]:
        target, reference = summary(self.target), summary(self.reference)
        return {
            **target,
            "reference_p50_ms": reference["p50_ms"],
            "reference_p95_ms": reference["p95_ms"],
            "ratio_p95": round(target["p95_ms"] / max(reference["p95_ms"], 0.001), 2),
        }


async def paired(
    http: aiohttp.ClientSession,
    base: str,
    paths: Sequence[str],
    *,
    cookie: Credential,
    workers: int,
    rounds: int,
) -> Paired:
    """``workers`` concurrent users, each alternating a target and the reference; the targets
    cycle through ``paths`` (one request each, in turn, across the users)."""
    result = Paired([], [])
    await asyncio.gather(
        *(_repeat(http, base + paths[n % len(paths)], cookie, WARM_ROUNDS) for n in range(workers))
    )

    async def user(n: int) -> None:
        for k in range(rounds):
            path = paths[(n + k * workers) % len(paths)]
            result.target.append(await _get(http, base + path, cookie))
            result.reference.append(await _get(http, base + REFERENCE, cookie))

    with steady_collector():
        await asyncio.gather(
            *(
                _settle(http, (base + paths[n % len(paths)], cookie), (base + REFERENCE, cookie))
                for n in range(workers)
            )
        )
        await asyncio.gather(*(user(n) for n in range(workers)))
    return result


async def alternated(
    http: aiohttp.ClientSession,
    base: str,
    path: str,
    *,
    target: Credential,
    reference: Credential,
    rounds: int,
) -> Paired:
    """One endpoint asked as two callers in turn (a bearer token and a session cookie, say):
    ``target``'s latencies beside ``reference``'s, after one request of each to warm."""
    result = Paired([], [])
    await _get(http, base + path, target)
    await _get(http, base + path, reference)
    with steady_collector():
        await _settle(http, (base + path, target), (base + path, reference))
        for _ in range(rounds):
            result.target.append(await _get(http, base + path, target))
            result.reference.append(await _get(http, base + path, reference))
    return result


async def open_loop(
    http: aiohttp.ClientSession, base: str, path: str, *, cookies: list[str], seconds: float
) -> list[float]:
    """Each cookie's user polls ``path`` once a second (random phase) for ``seconds``."""
    latencies: list[float] = []
    start = time.perf_counter() + 0.2

    async def poller(cookie: str) -> None:
        at = start + random.random()
        while at < start + seconds:
            await asyncio.sleep(max(0.0, at - time.perf_counter()))
            latencies.append(await _get(http, base + path, cookie))
            at += 1.0

    with steady_collector():
        await asyncio.gather(*(poller(c) for c in cookies))
    return latencies


async def warm(http: aiohttp.ClientSession, base: str, path: str, *, cookies: list[str]) -> None:
    """One request of ``path`` per cookie, all at once, before anything is timed."""
    await asyncio.gather(*(_get(http, base + path, c) for c in cookies))


async def closed_loop(
    http: aiohttp.ClientSession, base: str, path: str, *, cookies: list[str], seconds: float
) -> float:
    """Requests per second with one connection per cookie, each asking again at once."""
    done = 0
    stop = time.perf_counter() + seconds

    async def worker(cookie: str) -> None:
        nonlocal done
        while time.perf_counter() < stop:
            await _get(http, base + path, cookie)
            done += 1

    with steady_collector():
        started = time.perf_counter()
        await asyncio.gather(*(worker(c) for c in cookies))
        return done / (time.perf_counter() - started)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")
