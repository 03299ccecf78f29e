"""The sweep: claim what is due (refreshes, imports) and run it with bounded concurrency.

Claiming pushes the due time forward in the same statement that selects, so two sweeps in two
processes never take the same row (PostgreSQL skips rows another sweep has locked).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import TypeVar

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relink.data_sources.imports import ImportResult, import_data_source
from relink.grants.refresh import refresh_grant
from relink.models import DataSource, Grant
from relink.providers.taxonomy import AuthKind
from relink.status import IMPORTABLE_STATUSES, GrantStatus
from relink.worker.context import JobContext
from relink.worker.registry import job

T = TypeVar("T")

# A claimed row is not due again for this long, even if its worker dies without a word.
CLAIM_TTL = timedelta(minutes=10)
# Rows claimed per round trip: one statement per batch, never one per row.
CLAIM_BATCH = 500
# Parallel provider calls from one process (the HTTP client keeps its own socket limits).
CONCURRENCY = 50


@dataclass
class SweepReport:
    refreshed: Counter[str] = field(default_factory=Counter)
    imported: int = 0
    days: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    disconnected: int = 0

    def add_import(self, result: ImportResult) -> None:
        if result.skipped:
            return
        self.days += result.days
        if result.ok:
            self.imported += 1
        if result.applied is not None:
            self.failures[result.applied.error_class.value] += 1
            self.disconnected += len(result.applied.disconnected_ids)


async def claim_due_grants(session: AsyncSession, *, now: datetime, limit: int) -> list[int]:
    """OAuth grants whose refresh is due (or never happened), pushed ``CLAIM_TTL`` ahead."""
    due = (
        select(Grant.id)
        .where(
            Grant.status == GrantStatus.ACTIVE,
            Grant.auth_kind == AuthKind.OAUTH2,
            or_(Grant.next_refresh_at.is_(None), Grant.next_refresh_at <= now),
        )
        .order_by(Grant.next_refresh_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return await _claim(session, Grant, due, Grant.next_refresh_at, now + CLAIM_TTL)


async def claim_due_data_sources(session: AsyncSession, *, now: datetime, limit: int) -> list[int]:
    """Importable data sources of live grants whose next import is due."""
    live_grants = select(Grant.id).where(Grant.status == GrantStatus.ACTIVE)
    due = (
        select(DataSource.id)
        .where(
            DataSource.status.in_(IMPORTABLE_STATUSES),
            DataSource.grant_id.in_(live_grants),
            or_(DataSource.next_sync_at.is_(None), DataSource.next_sync_at <= now),
        )
        .order_by(DataSource.next_sync_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return await _claim(session, DataSource, due, DataSource.next_sync_at, now + CLAIM_TTL)


async def _claim(session: AsyncSession, model: type, due: object, column: object,
                 until: datetime) -> list[int]:  # fmt: skip
    ids = list(await session.scalars(due))  # type: ignore[call-overload]
    if ids:
        await session.execute(
            update(model)
            .where(model.id.in_(ids))  # type: ignore[attr-defined]
            .values({column: until})
            .execution_options(synchronize_session=False)
        )
    return ids


async def count_due_data_sources(ctx: JobContext) -> int:
    """How many imports a sweep started now would run (for a progress bar)."""
    live_grants = select(Grant.id).where(Grant.status == GrantStatus.ACTIVE)
    async with ctx.database.transaction() as session:
        count = await session.scalar(
            select(func.count()).where(
                DataSource.status.in_(IMPORTABLE_STATUSES),
                DataSource.grant_id.in_(live_grants),
                or_(DataSource.next_sync_at.is_(None), DataSource.next_sync_at <= ctx.now()),
            )
        )
    return int(count or 0)


async def sweep(
    ctx: JobContext, *, on_progress: Callable[[int], None] | None = None
) -> SweepReport:
    """Refresh what is due, then import what is due; returns what happened."""
    report = SweepReport()
    limiter = asyncio.Semaphore(CONCURRENCY)
    while True:
        async with ctx.database.transaction() as session:
            grant_ids = await claim_due_grants(session, now=ctx.now(), limit=CLAIM_BATCH)
        if not grant_ids:
            break
        # Due by the clock (ahead of expiry, or the daily refresh): refresh even if not expired.
        refreshes = [partial(refresh_grant, ctx, grant_id=g, force=True) for g in grant_ids]
        results = await _gather(limiter, refreshes)
        for refreshed in results:
            report.refreshed[refreshed.outcome.value] += 1
            if refreshed.applied is not None:
                report.failures[refreshed.applied.error_class.value] += 1
                report.disconnected += len(refreshed.applied.disconnected_ids)
    done = 0
    while True:
        async with ctx.database.transaction() as session:
            source_ids = await claim_due_data_sources(session, now=ctx.now(), limit=CLAIM_BATCH)
        if not source_ids:
            break
        imports = [partial(import_data_source, ctx, data_source_id=s) for s in source_ids]
        for imported in await _gather(limiter, imports):
            report.add_import(imported)
            done += 1
            if on_progress is not None:
                on_progress(done)
    return report


async def _gather(
    limiter: asyncio.Semaphore, calls: Sequence[Callable[[], Awaitable[T]]]
) -> list[T]:
    async def bounded(call: Callable[[], Awaitable[T]]) -> T:
        async with limiter:
            return await call()

    return list(await asyncio.gather(*(bounded(c) for c in calls)))


@job("worker.sweep")
async def sweep_job(ctx: JobContext) -> SweepReport:
    """One sweep now."""
    return await sweep(ctx)
