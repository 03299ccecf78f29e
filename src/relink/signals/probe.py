"""The probe's schedule: every active grant looked at about once per interval, within budget.

Each grant carries its next probe time, first spread at random over one interval and then
moved one jittered interval on at each probe, so probes never bunch. A provider's budget
(``probe.calls_per_minute`` in its catalog entry) caps the probes of the last minute, counted
from the grants' ``last_probed_at`` across every process; when an agency has more grants than
the budget allows in one interval, the interval stretches rather than the quota tripping.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relink.models import Grant
from relink.signals.check import VIA_PROBE, check_grant
from relink.signals.receipts import prune
from relink.status import GrantStatus
from relink.worker.context import JobContext

log = structlog.get_logger(__name__)

# Each probe moves the next one on by the interval times a factor in this range.
JITTER = (0.9, 1.1)
# Probes in flight at once from one process.
CONCURRENCY = 20
BUDGET_WINDOW = timedelta(minutes=1)
# Rows written per statement when spreading new grants over the interval.
SPREAD_BATCH = 1000


@dataclass
class ProbeReport:
    probed: Counter[str] = field(default_factory=Counter)
    verdicts: Counter[str] = field(default_factory=Counter)

    def summary(self) -> dict[str, Any]:
        return {"probed": dict(self.probed), "verdicts": dict(self.verdicts)}


def interval(ctx: JobContext) -> timedelta:
    return timedelta(seconds=ctx.settings.probe_interval_seconds)


def calls_per_hour(grants: int, *, interval_seconds: float, calls_per_minute: int) -> float:
    """What probing ``grants`` grants of one provider costs: the schedule, capped by budget."""
    return min(grants * 3600.0 / interval_seconds, calls_per_minute * 60.0)


async def probe_due(ctx: JobContext) -> ProbeReport:
    """Probe the grants whose time has come, each provider within its budget."""
    now = ctx.now()
    report = ProbeReport()
    async with ctx.database.transaction() as session:
        await prune(session, now=now)
        await _spread_new(session, ctx, now=now)
        claimed: list[int] = []
        for spec in ctx.catalog:
            if spec.probe_url() is None:
                continue
            ids = await _claim(session, ctx, provider=spec.key, budget=spec.probe.calls_per_minute)
            report.probed[spec.key] += len(ids)
            claimed.extend(ids)
    limiter = asyncio.Semaphore(CONCURRENCY)

    async def one(grant_id: int) -> None:
        async with limiter:
            try:
                result = await check_grant(ctx, grant_id=grant_id, via=VIA_PROBE)
            except Exception:
                log.exception("signals.probe.crashed", grant_id=grant_id)
                report.verdicts["crashed"] += 1
                return
            report.verdicts[result.verdict.value] += 1

    await asyncio.gather(*(one(grant_id) for grant_id in claimed))
    return report


async def _spread_new(session: AsyncSession, ctx: JobContext, *, now: datetime) -> None:
    """Grants never scheduled get a first probe time at random within one interval."""
    span = interval(ctx).total_seconds()
    ids = list(
        await session.scalars(
            select(Grant.id).where(
                Grant.status == GrantStatus.ACTIVE, Grant.next_probe_at.is_(None)
            )
        )
    )
    for start in range(0, len(ids), SPREAD_BATCH):
        rows = [
            {"id": grant_id, "next_probe_at": now + timedelta(seconds=ctx.rng.uniform(0, span))}
            for grant_id in ids[start : start + SPREAD_BATCH]
        ]
        await session.execute(update(Grant), rows)


async def _claim(
    session: AsyncSession, ctx: JobContext, *, provider: str, budget: int
) -> list[int]:
    """Take up to the budget's room of ``provider``'s due grants, moving each one on."""
    now = ctx.now()
    used = await session.scalar(
        select(func.count()).where(
            Grant.provider == provider, Grant.last_probed_at > now - BUDGET_WINDOW
        )
    )
    room = budget - int(used or 0)
    if room <= 0:
        return []
    ids = list(
        await session.scalars(
            select(Grant.id)
            .where(
                Grant.provider == provider,
                Grant.status == GrantStatus.ACTIVE,
                Grant.next_probe_at <= now,
            )
            .order_by(Grant.next_probe_at)
            .limit(room)
            .with_for_update(skip_locked=True)
        )
    )
    span = interval(ctx).total_seconds()
    rows = [
        {
            "id": grant_id,
            "last_probed_at": now,
            "next_probe_at": now + timedelta(seconds=span * ctx.rng.uniform(*JITTER)),
        }
        for grant_id in ids
    ]
    if rows:
        await session.execute(update(Grant), rows)
    return ids
