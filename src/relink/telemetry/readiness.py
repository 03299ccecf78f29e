"""Readiness: can this process serve? Its database answers, and Redis when configured.

Each check is bounded by :data:`CHECK_TIMEOUT_SECONDS` and they run together, so a hanging
Redis makes ``/readyz`` answer 503 within about that long instead of holding the probe.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog
from redis.asyncio import Redis
from sqlalchemy import text

from relink.db import Database, database_unavailable

log = structlog.get_logger(__name__)

# Well under the 2 s an orchestrator's probe usually allows, with room for both checks.
CHECK_TIMEOUT_SECONDS = 1.0

Check = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class CheckResult:
    """One dependency's answer: ``ok``, or the reason it is not."""

    name: str
    ok: bool
    reason: str | None = None


def database_check(database: Database) -> Check:
    """``SELECT 1`` on a pooled connection."""

    async def check() -> None:
        async with database.sessions() as session:
            await session.execute(text("SELECT 1"))

    return check


def redis_check(redis: Redis) -> Check:
    """``PING``."""

    async def check() -> None:
        await redis.ping()

    return check


def redis_client(url: str) -> Redis:
    """A client for readiness pings: short socket timeouts, no retries that outlast the probe."""
    return Redis.from_url(
        url,
        socket_connect_timeout=CHECK_TIMEOUT_SECONDS,
        socket_timeout=CHECK_TIMEOUT_SECONDS,
        retry_on_timeout=False,
    )


async def _run(name: str, check: Check, bound: float) -> CheckResult:
    try:
        await asyncio.wait_for(check(), timeout=bound)
    except TimeoutError:
        return CheckResult(name, ok=False, reason=f"no answer within {bound:g} s")
    except Exception as exc:  # any failure of a dependency means "not ready", with its name
        # A database gone away says how (refused, lost, restarting), not only its class.
        away = database_unavailable(exc)
        return CheckResult(name, ok=False, reason=away.reason if away else type(exc).__name__)
    return CheckResult(name, ok=True)


async def run_checks(
    checks: dict[str, Check], *, bound: float = CHECK_TIMEOUT_SECONDS
) -> list[CheckResult]:
    """Every check at once, each within ``bound`` seconds; failures are logged once per call."""
    results = await asyncio.gather(*(_run(name, c, bound) for name, c in checks.items()))
    for result in results:
        if not result.ok:
            log.warning("ops.readiness.failed", check=result.name, reason=result.reason)
    return list(results)
