"""Importing data sources' days: fetch outside any transaction, then write a batch in one.

A run covers the days from the one after ``complete_through`` (or yesterday, which is still
settling) to today, oldest first in batches; ``complete_through`` reaches today once today's
data so far is in; each batch commits on its own, so a crash loses at most the batch in flight
and the next run carries on from the last complete day. Each batch is a sync run held under a
lease while it works (``runs.py``): a run whose worker died is closed by whoever finds it, and
its data source is due again.

Many data sources are imported together, set-based: their runs begin in one transaction
(``import_plans.py``), each grant's credentials are read and decrypted once, the provider calls
run concurrently, and the successes are written in one transaction (``import_writes.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import structlog

from relink.data_sources.import_credentials import GrantCredentials, RefreshFailed
from relink.data_sources.import_plans import (
    IMPORT_BATCH_DAYS,
    INITIAL_HISTORY_DAYS,
    Plan,
    begin_runs,
    first_missing_day,
)
from relink.data_sources.import_writes import (
    Fetched,
    fail_one,
    finish_runs,
    settle_waiting,
    write_successes,
)
from relink.data_sources.runs import heartbeat
from relink.errors import CredentialsUnreadable
from relink.grants.failures import Applied
from relink.providers.api_auth import api_auth
from relink.providers.data_api import fetch_daily_metrics
from relink.providers.results import ProviderFailure
from relink.providers.taxonomy import AuthKind, ErrorClass
from relink.worker.context import JobContext

__all__ = [
    "IMPORT_BATCH_DAYS",
    "INITIAL_HISTORY_DAYS",
    "ImportResult",
    "first_missing_day",
    "import_data_source",
    "import_data_sources",
]

log = structlog.get_logger(__name__)

# Today and yesterday are re-imported on every run until they settle; older days once.
IMPORT_INTERVAL = timedelta(hours=1)
IMPORT_JITTER = timedelta(minutes=5)
# Parallel provider calls of one batch (the HTTP client keeps its own socket limits).
CONCURRENCY = 50


@dataclass(frozen=True)
class ImportResult:
    data_source_id: int
    ok: bool
    days: int = 0
    applied: Applied | None = None
    skipped: bool = False


@dataclass
class _Tally:
    days: int = 0
    rounds: int = 0
    result: ImportResult | None = None


@dataclass
class _Round:
    """What one round's provider calls met, sorted for writing."""

    fetched: list[Fetched] = field(default_factory=list)
    # The imports that waited on a refresh whose failure another import applied.
    waiting: list[tuple[Plan, ProviderFailure]] = field(default_factory=list)
    failed: list[tuple[Plan, ProviderFailure, Applied | None]] = field(default_factory=list)
    unreadable: list[Plan] = field(default_factory=list)


async def import_data_source(
    ctx: JobContext, *, data_source_id: int, trigger: str = "schedule", max_batches: int = 1000
) -> ImportResult:
    """Import every missing day of one data source up to today; idempotent and resumable."""
    [result] = await import_data_sources(
        ctx, [data_source_id], trigger=trigger, max_batches=max_batches
    )
    return result


async def import_data_sources(
    ctx: JobContext,
    data_source_ids: Sequence[int],
    *,
    trigger: str = "schedule",
    max_batches: int = 1000,
    concurrency: int = CONCURRENCY,
) -> list[ImportResult]:
    """Import every missing day of each data source up to today, together: one result each,
    in the order given. Each round takes one batch of days of every source still behind."""
    tallies = {source_id: _Tally() for source_id in data_source_ids}
    keys: dict[int, GrantCredentials] = {}
    limiter = asyncio.Semaphore(concurrency)
    pending = list(dict.fromkeys(data_source_ids))
    for _ in range(max_batches):
        if not pending:
            break
        plans = await begin_runs(ctx, pending, trigger=trigger)
        planned = {plan.data_source_id for plan in plans}
        for source_id in pending:
            if source_id not in planned:
                days = tallies[source_id].days
                tallies[source_id].result = ImportResult(
                    source_id, ok=days > 0, days=days, skipped=days == 0
                )
        if not plans:
            break
        for plan in plans:
            if plan.grant_id not in keys:
                keys[plan.grant_id] = GrantCredentials(
                    ctx, grant_id=plan.grant_id, provider=plan.provider, auth_kind=plan.auth_kind
                )
        async with heartbeat(ctx, run_ids=[plan.run_id for plan in plans]):
            outcomes = await asyncio.gather(
                *(_fetch_bounded(ctx, limiter, plan, keys[plan.grant_id]) for plan in plans)
            )
            found = _sort(plans, outcomes)
            await _write(ctx, found, tallies)
        pending = [
            item.plan.data_source_id
            for item in found.fetched
            if item.plan.end < item.plan.today and tallies[item.plan.data_source_id].result is None
        ]
    return [
        tallies[source_id].result or ImportResult(source_id, ok=True, days=tallies[source_id].days)
        for source_id in data_source_ids
    ]


async def _write(ctx: JobContext, found: _Round, tallies: dict[int, _Tally]) -> None:
    written = await write_successes(
        ctx, found.fetched, interval=IMPORT_INTERVAL, jitter=IMPORT_JITTER
    )
    for item in found.fetched:
        tally = tallies[item.plan.data_source_id]
        tally.days += written[item.plan.data_source_id]
        if item.plan.end >= item.plan.today:
            tally.result = ImportResult(item.plan.data_source_id, ok=True, days=tally.days)
    if found.waiting:
        await settle_waiting(ctx, [p for p, _ in found.waiting], failure=found.waiting[0][1])
    for plan, _ in found.waiting:
        tally = tallies[plan.data_source_id]
        tally.result = ImportResult(plan.data_source_id, ok=False, days=tally.days)
    for plan, failure, by_refresh in found.failed:
        applied = await fail_one(ctx, plan, failure, applied_by_refresh=by_refresh)
        tally = tallies[plan.data_source_id]
        tally.result = ImportResult(plan.data_source_id, ok=False, days=tally.days, applied=applied)
    if found.unreadable:
        async with ctx.database.transaction() as session:
            await finish_runs(
                session,
                [(plan, 0) for plan in found.unreadable],
                now=ctx.now(),
                error=ErrorClass.APP_MISCONFIGURED,
                detail="unreadable",
            )
    for plan in found.unreadable:
        tally = tallies[plan.data_source_id]
        tally.result = ImportResult(plan.data_source_id, ok=False, days=tally.days)


def _sort(plans: Sequence[Plan], outcomes: Sequence[Any]) -> _Round:
    found = _Round()
    for plan, outcome in zip(plans, outcomes, strict=True):
        if isinstance(outcome, dict):
            found.fetched.append(Fetched(plan, outcome))
        elif isinstance(outcome, RefreshFailed):
            if outcome.result.joined:
                found.waiting.append((plan, outcome.failure))
            else:
                # The refresh may have applied its own failure (a dead grant disconnects every
                # source on it): reported with this import, or a sweep would say nothing was.
                found.failed.append((plan, outcome.failure, outcome.result.applied))
        elif isinstance(outcome, ProviderFailure):
            found.failed.append((plan, outcome, None))
        elif isinstance(outcome, CredentialsUnreadable):
            found.unreadable.append(plan)
        else:
            raise outcome
    return found


async def _fetch_bounded(
    ctx: JobContext, limiter: asyncio.Semaphore, plan: Plan, keys: GrantCredentials
) -> dict[date, dict[str, float]] | Exception:
    async with limiter:
        try:
            return await _fetch(ctx, plan, keys)
        except (RefreshFailed, ProviderFailure, CredentialsUnreadable) as error:
            return error


async def _fetch(
    ctx: JobContext, plan: Plan, keys: GrantCredentials
) -> dict[date, dict[str, float]]:
    generation, credentials = await keys.get()
    try:
        return await _fetch_days(ctx, plan, credentials)
    except ProviderFailure as failure:
        if failure.error_class is not ErrorClass.ACCESS_TOKEN_EXPIRED:
            raise
        if plan.auth_kind is not AuthKind.OAUTH2:
            raise
    # The provider says the access token is no good: refresh once for the grant (which decides
    # whether the grant itself is dead) and try once more.
    _, credentials = await keys.after_rejection(generation)
    return await _fetch_days(ctx, plan, credentials)


async def _fetch_days(
    ctx: JobContext, plan: Plan, credentials: dict[str, Any]
) -> dict[date, dict[str, float]]:
    spec = ctx.catalog.get(plan.provider)
    return await fetch_daily_metrics(
        ctx.http,
        spec,
        auth=api_auth(spec, credentials),
        account_id=plan.account_id,
        start=plan.start,
        end=plan.end,
    )
