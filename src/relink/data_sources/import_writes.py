"""Writing a batch's outcomes: every success of a batch in one transaction, set-based.

One upsert for the daily metrics of every data source, one UPDATE executed over the batch for
the data sources' progress and one for their runs; a failure still goes through the error
taxonomy one data source at a time (``failures.py``), except the imports that waited on their
grant's failed refresh: they are settled together, the failure applied once by the refresh.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import structlog
from sqlalchemy import Boolean, Date, DateTime, Integer, Table, bindparam, case, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from relink.data_sources.failures import apply_data_source_failure
from relink.data_sources.import_plans import ID_CHUNK, Plan
from relink.grants.failures import Applied
from relink.incidents import service as incidents
from relink.kit.id_lists import id_in
from relink.models import DailyMetric, DataSource, Grant, SyncOutcome, SyncRun
from relink.models.base import utcnow
from relink.providers.results import ProviderFailure
from relink.providers.taxonomy import GRANT_LEVEL, ErrorClass
from relink.status import DataSourceStatus, GrantStatus
from relink.status_writer import transition_many
from relink.worker.context import JobContext

log = structlog.get_logger(__name__)

_DS: Table = DataSource.__table__  # type: ignore[assignment]
_RUN: Table = SyncRun.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class Fetched:
    plan: Plan
    rows: dict[date, dict[str, float]]


async def write_successes(
    ctx: JobContext,
    fetched: Sequence[Fetched],
    *,
    interval: timedelta,
    jitter: timedelta,
) -> dict[int, int]:
    """Commit every fetched batch at once; the days written, by data source."""
    if not fetched:
        return {}
    now = ctx.now()
    written = {item.plan.data_source_id: len(item.rows) for item in fetched}
    async with ctx.database.transaction() as session:
        await _upsert_days(session, fetched)
        # Every day up to the batch's end is now imported, today's as far as it goes; only the
        # complete ones count: complete_through moves to the batch's end but never past the
        # last complete day (today never is), and a day a row claimed before that rule is
        # given back. The gap closes once today is in; the next run re-imports yesterday and
        # today.
        through = bindparam("b_through", type_=Date)
        last_complete = bindparam("b_last_complete", type_=Date)
        progress = (
            update(_DS)
            .where(_DS.c.id == bindparam("b_id"))
            .values(
                complete_through=case(
                    (
                        or_(_DS.c.complete_through.is_(None), _DS.c.complete_through < through),
                        through,
                    ),
                    (_DS.c.complete_through > last_complete, last_complete),
                    else_=_DS.c.complete_through,
                ),
                backfill_from=case(
                    (bindparam("b_gap_closed", type_=Boolean), None),
                    else_=_DS.c.backfill_from,
                ),
                last_ok_at=bindparam("b_now", type_=DateTime(timezone=True)),
                consecutive_failures=0,
                next_sync_at=bindparam("b_next", type_=DateTime(timezone=True)),
            )
        )
        await session.execute(
            progress,
            [
                {
                    "b_id": item.plan.data_source_id,
                    "b_through": min(item.plan.end, item.plan.last_complete),
                    "b_last_complete": item.plan.last_complete,
                    "b_gap_closed": item.plan.end >= item.plan.today,
                    "b_now": now,
                    "b_next": now + interval + jitter * ctx.rng.random(),
                }
                for item in fetched
            ],
        )
        # A failing source is connected again; any other stays as it is.
        await transition_many(
            session,
            [item.plan.data_source_id for item in fetched if item.plan.was_failing],
            to=DataSourceStatus.CONNECTED,
            only_from={DataSourceStatus.FAILING},
            reason="imports work again",
            actor="system:import",
            now=now,
        )
        for agency_id, plans in _by_agency([item.plan for item in fetched]).items():
            repaired = [
                incidents.data_source_key(p.data_source_id, ErrorClass.DATA_ERROR) for p in plans
            ]
            repaired += [
                incidents.provider_key(provider, ErrorClass.APP_MISCONFIGURED)
                for provider in sorted({p.provider for p in plans})
            ]
            await incidents.resolve(
                session, agency_id=agency_id, keys=repaired, now=now, by="system:import"
            )
        await finish_runs(
            session,
            [(item.plan, written[item.plan.data_source_id]) for item in fetched],
            now=now,
        )
    # After the commit, so that of several batches of one grant finishing together, the last
    # one to commit sees every other recovery and closes the "data delayed" incident.
    async with ctx.database.transaction() as session:
        await _resolve_outages_if_over(session, [item.plan for item in fetched], now=now)
    return written


async def _upsert_days(session: AsyncSession, fetched: Sequence[Fetched]) -> None:
    rows = [
        {
            "agency_id": item.plan.agency_id,
            "data_source_id": item.plan.data_source_id,
            "day": day,
            "values": values,
        }
        for item in fetched
        for day, values in sorted(item.rows.items())
    ]
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert_ = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = insert_(DailyMetric)
    statement = statement.on_conflict_do_update(
        index_elements=[DailyMetric.data_source_id, DailyMetric.day],
        set_={"values": statement.excluded["values"], "imported_at": utcnow()},
    )
    # One statement, sent as a few multi-row batches by the driver layer (insertmanyvalues).
    await session.execute(statement, rows)


async def _resolve_outages_if_over(
    session: AsyncSession, plans: Sequence[Plan], *, now: datetime
) -> None:
    grants = sorted({(p.agency_id, p.grant_id) for p in plans})
    grant_ids = [g for _, g in grants]
    still_failing = set(
        await session.scalars(
            select(DataSource.grant_id)
            .where(
                DataSource.grant_id.in_(grant_ids),
                DataSource.status == DataSourceStatus.FAILING,
            )
            .distinct()
        )
    )
    over: dict[int, list[str]] = defaultdict(list)
    for agency_id, grant_id in grants:
        if grant_id not in still_failing:
            over[agency_id].append(incidents.grant_key(grant_id, ErrorClass.PROVIDER_UNAVAILABLE))
    for agency_id, keys in over.items():
        await incidents.resolve(
            session, agency_id=agency_id, keys=keys, now=now, by="system:import"
        )


async def finish_runs(
    session: AsyncSession,
    runs: Sequence[tuple[Plan, int]],
    *,
    now: datetime,
    error: ErrorClass | None = None,
    detail: str | None = None,
) -> None:
    """Close the runs, with the days each imported, in one executemany."""
    if not runs:
        return
    await session.execute(
        update(_RUN)
        .where(_RUN.c.id == bindparam("b_id"))
        .values(
            finished_at=now,
            outcome=SyncOutcome.FAILED if error else SyncOutcome.OK,
            error_class=error,
            error_detail=detail,
            days_imported=bindparam("b_days", type_=Integer),
        ),
        [{"b_id": plan.run_id, "b_days": days} for plan, days in runs],
    )


async def settle_waiting(
    ctx: JobContext, plans: Sequence[Plan], *, failure: ProviderFailure
) -> None:
    """Imports that waited on their grant's refresh, whose failure that refresh applied once:
    each only notes the failed run (no second disconnect, no count as a failure of its own)."""
    if not plans:
        return
    now = ctx.now()
    async with ctx.database.transaction() as session:
        ids = [p.data_source_id for p in plans]
        for start in range(0, len(ids), ID_CHUNK):
            await session.execute(
                update(DataSource)
                .where(id_in(session, DataSource.id, ids[start : start + ID_CHUNK]))
                .values(last_failed_at=now)
                .execution_options(synchronize_session=False)
            )
        await finish_runs(
            session,
            [(p, 0) for p in plans],
            now=now,
            error=failure.error_class,
            detail=failure.classification.detail or failure.classification.hint,
        )


async def fail_one(
    ctx: JobContext,
    plan: Plan,
    failure: ProviderFailure,
    *,
    applied_by_refresh: Applied | None = None,
) -> Applied | None:
    """Record one run's failure; ``applied_by_refresh`` is what a failed refresh did already."""
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
                source.next_sync_at = grant.next_refresh_at or now + timedelta(hours=1)
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
        await finish_runs(
            session,
            [(plan, 0)],
            now=now,
            error=failure.error_class,
            detail=failure.classification.detail or failure.classification.hint,
        )
    return applied


def _by_agency(plans: Sequence[Plan]) -> dict[int, list[Plan]]:
    grouped: dict[int, list[Plan]] = defaultdict(list)
    for plan in plans:
        grouped[plan.agency_id].append(plan)
    return grouped
