"""A repaired grant's external data sources: their missed days asked of the platform's
importers with a ``data_source.backfill_requested`` webhook (Relink imports only its own).

Sent by the grant's backfill job, after the reconnect committed; the importers' confirmations
(importers/confirmations.py) close each backfill as Relink's own imports close theirs.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import not_, select, update

from relink.data_sources.import_mode import imported_by_relink
from relink.data_sources.import_plans import reporting_delay
from relink.kit.complete_days import last_complete_day
from relink.kit.id_lists import id_in
from relink.models import DataSource
from relink.notifications.outgoing import emit_for_data_sources
from relink.status import IMPORTABLE_STATUSES
from relink.worker.context import JobContext

EVENT = "data_source.backfill_requested"


async def request_external_backfills(ctx: JobContext, *, grant_id: int) -> int:
    """Ask for the missed days of the grant's external data sources with an open backfill;
    answers how many were asked for."""
    now = ctx.now()
    async with ctx.database.transaction() as session:
        rows = (
            await session.execute(
                select(
                    DataSource.id,
                    DataSource.agency_id,
                    DataSource.provider,
                    DataSource.backfill_from,
                    DataSource.account_timezone,
                )
                .where(
                    DataSource.grant_id == grant_id,
                    DataSource.backfill_from.is_not(None),
                    # Asked once per backfill, however often the job runs (a redelivery).
                    DataSource.backfill_requested_from.is_distinct_from(DataSource.backfill_from),
                    DataSource.status.in_(IMPORTABLE_STATUSES),
                    DataSource.removed_at.is_(None),
                    not_(imported_by_relink(ctx.catalog)),
                )
                .order_by(DataSource.id)
                .with_for_update(skip_locked=True)
            )
        ).all()
        if not rows:
            return 0
        days: dict[int, dict[str, Any]] = {}
        for row in rows:
            delay = reporting_delay(ctx.catalog, row.provider)
            last: date = last_complete_day(now, time_zone=row.account_timezone, delay=delay)
            if row.backfill_from <= last:
                days[row.id] = {
                    "first_day": row.backfill_from.isoformat(),
                    "last_day": last.isoformat(),
                }
        await session.execute(
            update(DataSource)
            .where(id_in(session, DataSource.id, [row.id for row in rows]))
            .values(backfill_requested_from=DataSource.backfill_from)
            .execution_options(synchronize_session=False)
        )
        if days:
            await emit_for_data_sources(
                session,
                agency_id=rows[0].agency_id,
                event=EVENT,
                data_source_ids=list(days),
                error_class=None,
                hint="Import the missed days and confirm them.",
                now=now,
                extra=days,
            )
    return len(days)
