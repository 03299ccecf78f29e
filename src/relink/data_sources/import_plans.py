"""The start of an import batch: which data sources may import, which days, under which run.

One transaction for a whole claimed batch: the data sources and their grants read in one
query, runs left by a dead worker closed, and every batch's sync run inserted with one
statement (``runs.py`` explains the lease each run carries).

Days are the account's own (``kit/complete_days.py``): a run fetches up to the account's today,
partial as it is (reports want it), and names the last complete day, which is as far as its
success may move ``complete_through``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Date, func, insert, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.data_sources.import_mode import imported_by_relink
from relink.data_sources.runs import close_abandoned_runs, lease_until
from relink.kit.complete_days import NO_DELAY, account_today, last_complete_day
from relink.kit.id_lists import array_param, id_in, on_postgresql
from relink.models import DataSource, Grant, SyncOutcome, SyncRun
from relink.providers.catalog import Catalog
from relink.providers.taxonomy import AuthKind
from relink.status import IMPORTABLE_STATUSES, DataSourceStatus, GrantStatus
from relink.worker.context import JobContext

# A data source with no history yet starts with this many days.
INITIAL_HISTORY_DAYS = 90
# Days per provider request and per commit: small enough for every provider's range limit.
IMPORT_BATCH_DAYS = 31
# Rows per IN list: well under SQLite's bound-variable limit.
ID_CHUNK = 900


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
    # The account's today: the last day there is data for, not complete before it is over.
    today: date
    # The last complete day (over in the account's time zone, past the provider's reporting
    # delay): this run's success moves complete_through to its end, but never past this day.
    last_complete: date
    # The status when the batch began: a failing source that imports again is connected.
    was_failing: bool = False


def first_missing_day(complete_through: date | None, *, today: date) -> date:
    """The first day an import must (re)fetch: after the last complete day, at most yesterday."""
    if complete_through is None:
        return today - timedelta(days=INITIAL_HISTORY_DAYS)
    return min(complete_through + timedelta(days=1), today - timedelta(days=1))


def reporting_delay(catalog: Catalog, provider: str) -> timedelta:
    """How long after a day ends the provider's figures for it are in (its catalog entry)."""
    spec = catalog.specs.get(provider)
    if spec is None or spec.reporting_delay_hours is None:
        return NO_DELAY
    return timedelta(hours=spec.reporting_delay_hours)


async def begin_runs(
    ctx: JobContext, data_source_ids: Sequence[int], *, trigger: str
) -> list[Plan]:
    """Open a run for each importable data source of a live grant among ``data_source_ids``."""
    now = ctx.now()
    async with ctx.database.transaction() as session:
        found: list[Any] = []
        for start in range(0, len(data_source_ids), ID_CHUNK):
            chunk = list(data_source_ids[start : start + ID_CHUNK])
            found += (
                await session.execute(
                    select(
                        DataSource.id,
                        DataSource.status,
                        DataSource.agency_id,
                        DataSource.provider,
                        DataSource.external_account_id,
                        DataSource.complete_through,
                        DataSource.account_timezone,
                        DataSource.grant_id,
                        Grant.auth_kind,
                    )
                    .join(Grant, Grant.id == DataSource.grant_id)
                    .where(
                        id_in(session, DataSource.id, chunk),
                        DataSource.status.in_(IMPORTABLE_STATUSES),
                        Grant.status == GrantStatus.ACTIVE,
                        # The platform's importers import an external source, never Relink.
                        imported_by_relink(ctx.catalog),
                    )
                    .order_by(DataSource.id)
                )
            ).all()
        if not found:
            return []
        await close_abandoned_runs(session, now=now, data_source_ids=[row.id for row in found])
        days = {row.id: _days(ctx, row, now=now) for row in found}
        spans = {source_id: _span(start, today) for source_id, (start, today, _) in days.items()}
        inserted = await _insert_runs(
            session,
            [(row.agency_id, row.id, *spans[row.id]) for row in found],
            trigger=trigger,
            now=now,
            owner=ctx.worker_id,
        )
        run_of = {source_id: run_id for run_id, source_id in inserted}
    return [
        Plan(
            run_id=run_of[row.id],
            data_source_id=row.id,
            grant_id=row.grant_id,
            agency_id=row.agency_id,
            provider=row.provider,
            auth_kind=row.auth_kind,
            account_id=row.external_account_id,
            start=spans[row.id][0],
            end=spans[row.id][1],
            today=days[row.id][1],
            last_complete=days[row.id][2],
            was_failing=row.status is DataSourceStatus.FAILING,
        )
        for row in found
    ]


async def _insert_runs(
    session: AsyncSession,
    runs: list[tuple[int, int, date, date]],
    *,
    trigger: str,
    now: datetime,
    owner: str,
) -> list[tuple[int, int]]:
    """One running sync run per (agency, data source, first day, last day): (run id, source id).

    On PostgreSQL the rows go as four array parameters into one INSERT ... SELECT: the
    multi-row VALUES form has eight placeholders a row, which psycopg parses again in Python
    for every batch (half of the sweep's own time at 10k data sources, measured with py-spy).
    """
    constant = {
        "trigger": trigger,
        "started_at": now,
        "outcome": SyncOutcome.RUNNING,
        "days_imported": 0,
        "owner": owner,
        "lease_expires_at": lease_until(now),
    }
    returning = (SyncRun.id, SyncRun.data_source_id)
    if on_postgresql(session):
        agency_ids, source_ids, froms, tos = zip(*runs, strict=True)
        given = (
            func.unnest(
                array_param(agency_ids),
                array_param(source_ids),
                array_param(froms, Date),
                array_param(tos, Date),
            )
            .table_valued("agency_id", "data_source_id", "date_from", "date_to")
            .render_derived()
        )
        table = SyncRun.__table__
        statement = insert(SyncRun).from_select(
            ["agency_id", "data_source_id", "date_from", "date_to", *constant],
            select(
                given.c.agency_id,
                given.c.data_source_id,
                given.c.date_from,
                given.c.date_to,
                *(literal(value, table.c[name].type) for name, value in constant.items()),
            ),
        )
        inserted = await session.execute(statement.returning(*returning))
    else:
        rows = [
            {"agency_id": a, "data_source_id": d, "date_from": f, "date_to": t, **constant}
            for a, d, f, t in runs
        ]
        inserted = await session.execute(insert(SyncRun).returning(*returning), rows)
    return [(run_id, source_id) for run_id, source_id in inserted]


def _days(ctx: JobContext, row: Any, *, now: datetime) -> tuple[date, date, date]:
    """The first day to fetch, the account's today and its last complete day."""
    today = account_today(now, time_zone=row.account_timezone)
    last_complete = last_complete_day(
        now, time_zone=row.account_timezone, delay=reporting_delay(ctx.catalog, row.provider)
    )
    return first_missing_day(row.complete_through, today=today), today, last_complete


def _span(start: date, today: date) -> tuple[date, date]:
    return start, min(start + timedelta(days=IMPORT_BATCH_DAYS - 1), today)
