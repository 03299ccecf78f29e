"""Days an outside importer imported, confirmed: ``complete_through``, the "may be incomplete
since" banner, the gap and a backfill's progress follow them as they follow Relink's own
imports.

Only contiguous days move ``complete_through``: a range must start at or before the first
missing day, or the day between would be silently missing. Days still going on (today, and
days within the provider's reporting delay) are accepted but never counted complete, as
Relink's own imports do. A backfill closes once the days reach the last complete one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from relink.data_sources.gaps import gap_start
from relink.data_sources.import_mode import import_mode
from relink.data_sources.import_plans import reporting_delay
from relink.errors import InvalidInput
from relink.events.service import record
from relink.importers.caller import ImporterCaller
from relink.importers.errors import DaysNotContiguous, NotImportedExternally
from relink.kit.complete_days import account_today, last_complete_day
from relink.providers.taxonomy import ImportMode
from relink.status import DataSourceStatus
from relink.status_writer import transition_many
from relink.worker.context import JobContext


@dataclass(frozen=True)
class Confirmed:
    data_source_id: int
    complete_through: date | None
    # The day a backfill still has to reach; None when none is open.
    backfill_until: date | None
    backfill_closed: bool


async def confirm_imports(
    session: AsyncSession,
    ctx: JobContext,
    *,
    caller: ImporterCaller,
    data_source_id: int,
    first: date | None,
    last: date,
) -> Confirmed:
    """Days ``first`` to ``last`` imported (``first`` None: everything through ``last``)."""
    source = await caller.data_source(session, data_source_id, lock=True)
    if import_mode(source, ctx.catalog) is not ImportMode.EXTERNAL:
        raise NotImportedExternally()
    now = ctx.now()
    if first is not None and first > last:
        raise InvalidInput("the range's first day comes after its last: swap them")
    if last > account_today(now, time_zone=source.account_timezone):
        raise InvalidInput(f"{last.isoformat()} has not begun in the account's time zone yet")
    missing = gap_start(source.complete_through)
    if first is not None and missing is not None and first > missing:
        raise DaysNotContiguous(missing.isoformat())
    complete = last_complete_day(
        now,
        time_zone=source.account_timezone,
        delay=reporting_delay(ctx.catalog, source.provider),
    )
    counted = min(last, complete)
    before = source.complete_through
    if before is None or counted > before:
        source.complete_through = counted
    closed = source.backfill_from is not None and (source.complete_through or counted) >= complete
    if closed:
        source.backfill_from = None
    source.last_ok_at = now
    source.consecutive_failures = 0
    await session.flush()
    if source.status is DataSourceStatus.FAILING:
        await transition_many(
            session,
            [source.id],
            to=DataSourceStatus.CONNECTED,
            only_from={DataSourceStatus.FAILING},
            reason="the platform's imports work again",
            actor=caller.actor,
            now=now,
        )
    await record(
        session,
        agency_id=source.agency_id,
        actor=caller.actor,
        subject_type="data_source",
        subject_id=source.id,
        action="data_source.imports_confirmed",
        details={
            "first": first.isoformat() if first else None,
            "last": last.isoformat(),
            "complete_through": (
                source.complete_through.isoformat() if source.complete_through else None
            ),
            "backfill_closed": closed,
        },
    )
    return Confirmed(
        data_source_id=source.id,
        complete_through=source.complete_through,
        backfill_until=complete if source.backfill_from is not None else None,
        backfill_closed=closed,
    )
