"""The bell at load: the unread count polled by 200 users, and 500 SSE streams of one process
updated at once, each beside the reference endpoint under the same load."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp

from bench import load

POLLERS = 200
POLL_SECONDS = 6.0
CLOSED_LOOP_SECONDS = 4.0
STREAMS_PER_USER = 10
UPDATE_ROUNDS = 3
UNREAD = "/api/notifications/unread-count"


async def unread(http: aiohttp.ClientSession, base: str, cookies: list[str]) -> dict[str, Any]:
    """Open loop (each user once a second) and closed loop (as fast as answered), after each
    bell has polled once: the figure is the steady state of bells that poll all day."""
    await load.warm(http, base, UNREAD, cookies=cookies)
    polled = await load.open_loop(http, base, UNREAD, cookies=cookies, seconds=POLL_SECONDS)
    reference = await load.open_loop(
        http, base, load.REFERENCE, cookies=cookies, seconds=POLL_SECONDS
    )
    rate = await load.closed_loop(http, base, UNREAD, cookies=cookies, seconds=CLOSED_LOOP_SECONDS)
    reference_rate = await load.closed_loop(
        http, base, load.REFERENCE, cookies=cookies, seconds=CLOSED_LOOP_SECONDS
    )
    polled_s, reference_s = load.summary(polled), load.summary(reference)
    return {
        "users": len(cookies),
        **polled_s,
        "reference_p50_ms": reference_s["p50_ms"],
        "reference_p95_ms": reference_s["p95_ms"],
        "ratio_p95": round(polled_s["p95_ms"] / max(reference_s["p95_ms"], 0.001), 2),
        "throughput_per_s": round(rate, 1),
        "reference_throughput_per_s": round(reference_rate, 1),
        "throughput_ratio": round(rate / max(reference_rate, 0.001), 2),
    }


class _Stream:
    """One open bell: counts the events it has received and when the last came."""

    def __init__(self) -> None:
        self.events = 0
        self.last_at = 0.0
        self.changed = asyncio.Event()

    async def run(self, http: aiohttp.ClientSession, url: str, cookie: str) -> None:
        headers = {"Cookie": cookie, "Accept": "text/event-stream"}
        async with http.get(url, headers=headers) as answer:
            async for line in answer.content:
                if line.startswith(b"data:"):
                    self.events += 1
                    self.last_at = time.perf_counter()
                    self.changed.set()


async def sse(
    http: aiohttp.ClientSession,
    base: str,
    cookies: dict[int, str],
    unread_ids: dict[int, list[int]],
) -> dict[str, Any]:
    """``STREAMS_PER_USER`` streams for each user; each round marks one notification of every
    user read (one request each, all at once) and times each stream's next event."""
    streams: dict[int, list[_Stream]] = {
        u: [_Stream() for _ in range(STREAMS_PER_USER)] for u in cookies
    }
    tasks = [
        asyncio.create_task(s.run(http, f"{base}/api/notifications/stream", cookies[u]))
        for u, user_streams in streams.items()
        for s in user_streams
    ]
    everyone = [s for user_streams in streams.values() for s in user_streams]
    latencies: list[float] = []
    try:
        await _until(lambda: all(s.events >= 1 for s in everyone), seconds=60)
        with load.steady_collector():
            for round_ in range(UPDATE_ROUNDS):
                before = {id(s): s.events for s in everyone}
                for s in everyone:
                    s.changed.clear()
                started = time.perf_counter()
                await asyncio.gather(
                    *(
                        _post(
                            http,
                            f"{base}/api/notifications/{unread_ids[u][round_]}/read",
                            cookies[u],
                        )
                        for u in cookies
                    )
                )
                await _until(
                    lambda seen=before: all(s.events > seen[id(s)] for s in everyone), seconds=30
                )
                latencies.extend(s.last_at - started for s in everyone)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return {"streams": len(everyone), "rounds": UPDATE_ROUNDS, **load.summary(latencies)}


async def _post(http: aiohttp.ClientSession, url: str, cookie: str) -> None:
    async with http.post(url, headers={"Cookie": cookie}, json={}) as answer:
        if answer.status >= 300:
            raise RuntimeError(f"POST {url} answered {answer.status}")


async def _until(condition: Any, *, seconds: float) -> None:
    deadline = time.perf_counter() + seconds
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError("the streams did not all receive the update in time")
        await asyncio.sleep(0.005)
