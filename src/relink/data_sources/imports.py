"""Importing a data source's days: fetch outside any transaction, then write in one.

A run covers the days from the one after ``complete_through`` (or yesterday, which is still
settling) to today, oldest first in batches; ``complete_through`` reaches today once today's
data so far is in; each batch commits on its own, so a crash loses
at most the batch in flight and the next run carries on from the last complete day. Each batch
is a sync run held under a lease while it works (``runs.py``): a run whose worker died is
closed by whoever finds it, and its data source is due again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relink.data_sources.failures import apply_data_source_failure
from relink.data_sources.import_credentials import RefreshFailed, credentials_for_import
from relink.data_sources.runs import close_abandoned_runs, heartbeat, lease_until
from relink.errors import CredentialsUnreadable
from relink.grants.failures import Applied
from relink.incidents import service as incidents
from relink.metrics.service import upsert_days
from relink.models import DataSource, Grant, SyncOutcome, SyncRun
from relink.providers.api_auth import api_auth
from relink.providers.data_api import fetch_daily_metrics
from relink.providers.results import ProviderFailure
from relink.providers.spec import ProviderSpec
from relink.providers.taxonomy import GRANT_LEVEL, AuthKind, ErrorClass
from relink.status import IMPORTABLE_STATUSES, DataSourceStatus, GrantStatus
from relink.status_writer import transition_many
from relink.worker.context import JobContext

log = structlog.get_logger(__name__)

# Today and yesterday are re-imported on every run until they settle; older days once.
IMPORT_INTERVAL = timedelta(hours=1)
IMPORT_JITTER = timedelta(minutes=5)
# A data source with no history yet starts with this many days.
INITIAL_HISTORY_DAYS = 90
# Days per provider request and per commit: small enough for every provider's range limit.
IMPORT_BATCH_DAYS = 31


@dataclass(frozen=True)
class Plan:
    run_id: int
    data_source_id: int
    grant_id: int
    agency_id: int
    provider: str
    auth_kind: AuthKind
    account_id: str
    start: date
    end: date
    today: date


@dataclass(frozen=True)
class ImportResult:
    data_source_id: int
    ok: bool
    days: int = 0
    applied: Applied | None = None
    skipped: bool = False


def first_missing_day(source: DataSource, *, today: date) -> date:
    """The first day an import must (re)fetch: after the last complete day, at most yesterday."""
    if source.complete_through is None:
        return today - timedelta(days=INITIAL_HISTORY_DAYS)
    return min(source.complete_through + timedelta(days=1), today - timedelta(days=1))


async def import_data_source(
    ctx: JobContext, *, data_source_id: int, trigger: str = "schedule", max_batches: int = 1000
) -> ImportResult:
    """Import every missing day of one data source up to today; idempotent and resumable."""
    days = 0
    for _ in range(max_batches):
        plan = await _begin(ctx, data_source_id=data_source_id, trigger=trigger)
        if plan is None:
            return ImportResult(data_source_id, ok=days > 0, days=days, skipped=days == 0)
        async with heartbeat(ctx, run_id=plan.run_id):
            try:
                rows = await _fetch(ctx, plan)
            except RefreshFailed as refresh:
                # The refresh may have applied its own failure (a dead grant disconnects every
                # source on it): report that, or a sweep would say nothing was disconnected.
                applied = await _fail(
                    ctx, plan, refresh.failure, applied_by_refresh=refresh.result.applied
                )
                return ImportResult(data_source_id, ok=False, days=days, applied=applied)
            except ProviderFailure as failure:
                applied = await _fail(ctx, plan, failure)
                return ImportResult(data_source_id, ok=False, days=days, applied=applied)
            except CredentialsUnreadable:
                await _finish_run(
                    ctx, plan, error=ErrorClass.APP_MISCONFIGURED, detail="unreadable"
                )
                return ImportResult(data_source_id, ok=False, days=days)
            days += await _succeed(ctx, plan, rows)
        if plan.end >= plan.today:
            break
    return ImportResult(data_source_id, ok=True, days=days)


async def _begin(ctx: JobContext, *, data_source_id: int, trigger: str) -> Plan | None:
    now = ctx.now()
    today = now.date()
    async with ctx.database.transaction() as session:
        source = await session.get(DataSource, data_source_id)
        if source is None or source.status not in IMPORTABLE_STATUSES:
            return None
        grant = await session.get(Grant, source.grant_id)
        if grant is None or grant.status is not GrantStatus.ACTIVE:
            return None
        await close_abandoned_runs(session, now=now, data_source_id=source.id)
        start = first_missing_day(source, today=today)
        end = min(start + timedelta(days=IMPORT_BATCH_DAYS - 1), today)
        run = SyncRun(
            agency_id=source.agency_id,
            data_source_id=source.id,
            trigger=trigger,
            date_from=start,
            date_to=end,
            started_at=now,
            owner=ctx.worker_id,
            lease_expires_at=lease_until(now),
        )
        session.add(run)
        await session.flush()
        return Plan(
            run_id=run.id,
            data_source_id=source.id,
            grant_id=grant.id,
            agency_id=source.agency_id,
            provider=source.provider,
            auth_kind=grant.auth_kind,
            account_id=source.external_account_id,
            start=start,
            end=end,
            today=today,
        )


async def _fetch(ctx: JobContext, plan: Plan) -> dict[date, dict[str, float]]:
    spec = ctx.catalog.get(plan.provider)
    credentials = await credentials_for_import(
        ctx,
        grant_id=plan.grant_id,
        provider=plan.provider,
        auth_kind=plan.auth_kind,
        force_refresh=False,
    )
    try:
        return await _fetch_days(ctx, spec, plan, credentials)
    except ProviderFailure as failure:
        if failure.error_class is not ErrorClass.ACCESS_TOKEN_EXPIRED:
            raise
        if plan.auth_kind is not AuthKind.OAUTH2:
            raise
    # The provider says the access token is no good: refresh (which decides whether the grant
    # itself is dead) and try once more.
    credentials = await credentials_for_import(
        ctx,
        grant_id=plan.grant_id,
        provider=plan.provider,
        auth_kind=plan.auth_kind,
        force_refresh=True,
    )
    return await _fetch_days(ctx, spec, plan, credentials)


async def _fetch_days(
    ctx: JobContext, spec: ProviderSpec, plan: Plan, credentials: dict[str, Any]
) -> dict[date, dict[str, float]]:
    return await fetch_daily_metrics(
        ctx.http,
        spec,
        auth=api_auth(spec, credentials),
        account_id=plan.account_id,
        start=plan.start,
        end=plan.end,
    )


async def _succeed(ctx: JobContext, plan: Plan, rows: dict[date, dict[str, float]]) -> int:
    now = ctx.now()
    async with ctx.database.transaction() as session:
        source = await session.get(DataSource, plan.data_source_id, with_for_update=True)
        assert source is not None
        written = await upsert_days(
            session, agency_id=plan.agency_id, data_source_id=source.id, days=rows
        )
        # Every day up to the batch's end is now imported (today as of this hour); the next
        # run re-imports yesterday and today until they settle.
        if source.complete_through is None or plan.end > source.complete_through:
            source.complete_through = plan.end
        if (
            source.backfill_from is not None
            and source.complete_through is not None
            and source.complete_through >= plan.today
        ):
            # The gap is closed; progress is no longer shown.
            source.backfill_from = None
        source.last_ok_at = now
        source.consecutive_failures = 0
        source.next_sync_at = now + IMPORT_INTERVAL + IMPORT_JITTER * ctx.rng.random()
        # A failing source is connected again; any other stays as it is.
        await transition_many(
            session,
            [source.id],
            to=DataSourceStatus.CONNECTED,
            only_from={DataSourceStatus.FAILING},
            reason="imports work again",
            actor="system:import",
            now=now,
        )
        await session.flush()
        repaired = [
            incidents.data_source_key(plan.data_source_id, ErrorClass.DATA_ERROR),
            incidents.provider_key(plan.provider, ErrorClass.APP_MISCONFIGURED),
        ]
        await incidents.resolve(
            session, agency_id=plan.agency_id, keys=repaired, now=now, by="system:import"
        )
        await _finish(session, plan, now=now, days=written)
    # After the commit, so that of several imports of one grant finishing together, the last
    # one to commit sees every other recovery and closes the "data delayed" incident.
    async with ctx.database.transaction() as session:
        await _resolve_outage_if_over(session, plan=plan, now=now)
    return written


async def _resolve_outage_if_over(session: AsyncSession, *, plan: Plan, now: datetime) -> None:
    still_failing = await session.scalar(
        select(
            exists().where(
                DataSource.grant_id == plan.grant_id,
                DataSource.status == DataSourceStatus.FAILING,
            )
        )
    )
    if not still_failing:
        await incidents.resolve(
            session,
            agency_id=plan.agency_id,
            keys=[incidents.grant_key(plan.grant_id, ErrorClass.PROVIDER_UNAVAILABLE)],
            now=now,
            by="system:import",
        )


async def _fail(
    ctx: JobContext,
    plan: Plan,
    failure: ProviderFailure,
    *,
    applied_by_refresh: Applied | None = None,
) -> Applied | None:
    """Record the run's failure; ``applied_by_refresh`` is what a failed refresh did already."""
    now = ctx.now()
    log.info(
        "data_source.import.failed",
        data_source_id=plan.data_source_id,
        error_class=failure.error_class.value,
        operation=failure.operation,
        provider_code=failure.classification.provider_code,
    )
    async with ctx.database.transaction() as session:
        source = await session.get(DataSource, plan.data_source_id, with_for_update=True)
        grant = await session.get(Grant, plan.grant_id, populate_existing=True)
        assert source is not None and grant is not None
        applied = applied_by_refresh
        if applied is not None:
            # The refresh ended the grant (or found our app misconfigured) and applied that
            # itself: this source waits with its grant rather than count it twice.
            source.last_failed_at = now
            if grant.status is GrantStatus.ACTIVE:
                source.next_sync_at = grant.next_refresh_at or now + IMPORT_INTERVAL
        elif grant.status is not GrantStatus.ACTIVE and failure.error_class not in GRANT_LEVEL:
            # The grant went down while this import waited, applied by whoever found it.
            source.last_failed_at = now
        else:
            applied = await apply_data_source_failure(
                session,
                source=source,
                grant=grant,
                classification=failure.classification,
                now=now,
                actor="system:import",
                rng=ctx.rng,
            )
        await _finish(
            session,
            plan,
            now=now,
            error=failure.error_class,
            detail=failure.classification.detail or failure.classification.hint,
        )
    return applied


async def _finish(
    session: AsyncSession,
    plan: Plan,
    *,
    now: datetime,
    days: int = 0,
    error: ErrorClass | None = None,
    detail: str | None = None,
) -> None:
    await session.execute(
        update(SyncRun)
        .where(SyncRun.id == plan.run_id)
        .values(
            finished_at=now,
            outcome=SyncOutcome.FAILED if error else SyncOutcome.OK,
            error_class=error,
            error_detail=detail,
            days_imported=days,
        )
    )


async def _finish_run(ctx: JobContext, plan: Plan, *, error: ErrorClass, detail: str) -> None:
    async with ctx.database.transaction() as session:
        await _finish(session, plan, now=ctx.now(), error=error, detail=detail)
