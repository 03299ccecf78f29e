"""The sweep: claim what is due (refreshes, imports) and run it with bounded concurrency.

Claiming pushes the due time forward in the same statement that selects, so two sweeps in two
processes never take the same row (PostgreSQL skips rows another sweep has locked).

A sweep ends. It takes each grant and each data source at most once, whatever due time the
work itself sets: a refresh whose next due time is already past (a token living less than the
refresh margin) waits for the next sweep instead of being refreshed again and again in this one.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any, TypeVar

import structlog
from sqlalchemy import Select, func, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from relink.data_sources.import_mode import imported_by_relink
from relink.data_sources.imports import ImportResult, import_data_sources
from relink.data_sources.runs import close_abandoned_runs
from relink.grants.failures import Applied
from relink.grants.refresh import RefreshResult, refresh_grant
from relink.kit.id_lists import id_in
from relink.models import DataSource, Grant, SyncTrigger
from relink.providers.catalog import Catalog
from relink.providers.taxonomy import AuthKind
from relink.status import IMPORTABLE_STATUSES, GrantStatus
from relink.telemetry.sweep_timing import timed_sweep
from relink.worker.context import JobContext
from relink.worker.job_states import run_answering, run_requested
from relink.worker.registry import JobName, job

T = TypeVar("T")

log = structlog.get_logger(__name__)

# A claimed row is not due again for this long, even if its worker dies without a word.
CLAIM_TTL = timedelta(minutes=10)
# Rows claimed per round trip: one statement per batch, never one per row.
CLAIM_BATCH = 500
# A check asks whether each grant still works now; a refresh this recent (by anyone) already
# answered it. Two checks started together (cron on two machines, a second click) then cost one
# token call per grant, not one per check: each extra rotation is one more chance to lose the
# newest refresh token. A grant revoked inside it is still found by its signal or the probe.
CHECK_ANSWERED_BY_REFRESHES_WITHIN = timedelta(seconds=5)
# Parallel provider calls from one process (the HTTP client keeps its own socket limits).
CONCURRENCY = 50


@dataclass
class SweepReport:
    """What one sweep did, summed up for the CLI and the logs."""

    refreshed: Counter[str] = field(default_factory=Counter)
    imported: int = 0
    days: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    disconnected: int = 0
    incidents_opened: int = 0
    # Runs found still "running" after their worker was gone, closed as failed.
    interrupted_runs: int = 0

    def summary(self) -> dict[str, Any]:
        """Plain figures, for a log line or an answer."""
        return {
            "imported": self.imported,
            "days": self.days,
            "refreshed": dict(self.refreshed),
            "failures": dict(self.failures),
            "disconnected": self.disconnected,
            "incidents_opened": self.incidents_opened,
            "interrupted_runs": self.interrupted_runs,
        }

    def add_refresh(self, result: RefreshResult) -> None:
        self.refreshed[result.outcome.value] += 1
        self.add_applied(result.applied)

    def add_import(self, result: ImportResult) -> None:
        if result.skipped:
            return
        self.days += result.days
        if result.ok:
            self.imported += 1
        self.add_applied(result.applied)

    def add_applied(self, applied: Applied | None) -> None:
        if applied is None:
            return
        self.failures[applied.error_class.value] += 1
        self.disconnected += len(applied.disconnected_ids)
        if applied.incident_created:
            self.incidents_opened += 1


def _oauth_grants_to_check(
    *, now: datetime, every_active: bool, refreshed_before: datetime
) -> Select[int]:
    due = or_(Grant.next_refresh_at.is_(None), Grant.next_refresh_at <= now)
    return select(Grant.id).where(
        Grant.status == GrantStatus.ACTIVE,
        Grant.auth_kind == AuthKind.OAUTH2,
        true() if every_active else due,
        # Refreshed since this sweep began (by it, or by anyone): nothing to do this time.
        or_(Grant.last_refreshed_at.is_(None), Grant.last_refreshed_at < refreshed_before),
    )


async def claim_due_grants(
    session: AsyncSession,
    *,
    now: datetime,
    limit: int,
    every_active: bool = False,
    refreshed_before: datetime | None = None,
) -> dict[int, int]:
    """OAuth grants whose refresh is due (or never happened), pushed ``CLAIM_TTL`` ahead:
    each id with the token generation found due, the one its refresh may replace.

    ``every_active`` takes every active OAuth grant, due or not (an operator's check now);
    grants refreshed at or after ``refreshed_before`` are left alone.
    """
    due = (
        _oauth_grants_to_check(
            now=now, every_active=every_active, refreshed_before=refreshed_before or now
        )
        .add_columns(Grant.token_generation)
        .order_by(Grant.next_refresh_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    generations = {row.id: row.token_generation for row in await session.execute(due)}
    await _push_due_time(session, Grant, list(generations), Grant.next_refresh_at, now + CLAIM_TTL)
    return generations


def _due_data_sources(*, now: datetime, catalog: Catalog) -> Select[int]:
    live_grants = select(Grant.id).where(Grant.status == GrantStatus.ACTIVE)
    return select(DataSource.id).where(
        DataSource.status.in_(IMPORTABLE_STATUSES),
        DataSource.grant_id.in_(live_grants),
        or_(DataSource.next_sync_at.is_(None), DataSource.next_sync_at <= now),
        imported_by_relink(catalog),
    )


async def claim_due_data_sources(
    session: AsyncSession, *, now: datetime, limit: int, catalog: Catalog
) -> list[int]:
    """Importable data sources of live grants whose next import is due and is Relink's."""
    due = (
        _due_data_sources(now=now, catalog=catalog)
        .order_by(DataSource.next_sync_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return await _claim(session, DataSource, due, DataSource.next_sync_at, now + CLAIM_TTL)


async def _claim(
    session: AsyncSession, model: type, due: Any, column: Any, until: datetime
) -> list[int]:
    ids = list(await session.scalars(due))
    await _push_due_time(session, model, ids, column, until)
    return ids


async def _push_due_time(
    session: AsyncSession, model: type, ids: list[int], column: Any, until: datetime
) -> None:
    if ids:
        await session.execute(
            update(model)
            .where(id_in(session, model.id, ids))  # type: ignore[attr-defined]
            .values({column: until})
            .execution_options(synchronize_session=False)
        )


@dataclass(frozen=True)
class Due:
    grants: int
    data_sources: int


async def count_due(
    session: AsyncSession, *, now: datetime, catalog: Catalog, agency_id: int | None = None
) -> Due:
    """What a sweep started now would take: grants to refresh and data sources to import."""
    grants = _oauth_grants_to_check(now=now, every_active=False, refreshed_before=now)
    sources = _due_data_sources(now=now, catalog=catalog)
    if agency_id is not None:
        grants = grants.where(Grant.agency_id == agency_id)
        sources = sources.where(DataSource.agency_id == agency_id)
    count_grants = await session.scalar(select(func.count()).select_from(grants.subquery()))
    count_sources = await session.scalar(select(func.count()).select_from(sources.subquery()))
    return Due(grants=int(count_grants or 0), data_sources=int(count_sources or 0))


async def count_due_data_sources(ctx: JobContext) -> int:
    """How many imports a sweep started now would run (for a progress bar)."""
    async with ctx.database.transaction() as session:
        return (await count_due(session, now=ctx.now(), catalog=ctx.catalog)).data_sources


@timed_sweep
async def sweep(
    ctx: JobContext,
    *,
    check_every_grant: bool = False,
    on_progress: Callable[[int], None] | None = None,
) -> SweepReport:
    """Refresh what is due, then import what is due; returns what happened.

    With ``check_every_grant`` every active OAuth grant is refreshed now, due or not, so a
    grant revoked since its last refresh is found at once (``relink check``).
    """
    report = SweepReport()
    limiter = asyncio.Semaphore(CONCURRENCY)
    started = ctx.now()
    # Runs left "running" by a worker that died (its lease ran out, or it was a process of this
    # machine that has ended, such as this server's previous life): closed, due again below.
    async with ctx.database.transaction() as session:
        report.interrupted_runs = await close_abandoned_runs(
            session, now=started, worker_id=ctx.worker_id
        )
    seen_grants: set[int] = set()
    while True:
        async with ctx.database.transaction() as session:
            claimed = await claim_due_grants(
                session,
                now=ctx.now(),
                limit=CLAIM_BATCH,
                every_active=check_every_grant,
                refreshed_before=(
                    started - CHECK_ANSWERED_BY_REFRESHES_WITHIN if check_every_grant else started
                ),
            )
        grant_ids = [g for g in claimed if g not in seen_grants]
        if not grant_ids:
            break
        seen_grants.update(grant_ids)
        # Due by the clock (ahead of expiry, or the daily refresh): refresh even if not expired,
        # unless someone replaced the token found due since the claim (another sweep's refresh).
        refreshes = [
            partial(refresh_grant, ctx, grant_id=g, replacing=claimed[g]) for g in grant_ids
        ]
        for refreshed in await _gather(limiter, refreshes):
            report.add_refresh(refreshed)
    seen_sources: set[int] = set()
    done = 0
    while True:
        async with ctx.database.transaction() as session:
            due = await claim_due_data_sources(
                session, now=ctx.now(), limit=CLAIM_BATCH, catalog=ctx.catalog
            )
        source_ids = [s for s in due if s not in seen_sources]
        if not source_ids:
            break
        seen_sources.update(source_ids)
        # One batch, set-based: begun in one transaction, each grant's credentials read once,
        # the provider calls CONCURRENCY at a time, the successes written in one transaction.
        batch = await import_data_sources(
            ctx, source_ids, trigger=SyncTrigger.SCHEDULE, concurrency=CONCURRENCY
        )
        for imported in batch:
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


@job(JobName.SWEEP)
async def sweep_job(ctx: JobContext, job_id: str | None = None) -> SweepReport | None:
    """One sweep now: the schedule's (scaled mode), or an admin's request (``job_id``).

    Either answers every request queued before it began (``job_states``); a request's own
    message finds nothing to do if such a sweep answered it already.
    """
    report: SweepReport | None
    if job_id is None:
        report = await run_answering(ctx, JobName.SWEEP, partial(sweep, ctx))
    else:
        report = await run_requested(ctx, JobName.SWEEP, partial(sweep, ctx), job_id=job_id)
    if report is not None:
        trigger = "schedule" if job_id is None else "requested"
        log.info("worker.sweep.done", trigger=trigger, **report.summary())
    return report
