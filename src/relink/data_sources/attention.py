"""What needs a person (``relink status``): every disconnected data source and every
open operations alert, of every agency (the operator's view).

DESIGN.md: a disconnected data source waits for a person (a reconnect, a re-verified key, a
permission given back); a failing one is retrying on its own and does not. An operations alert
(``app_misconfigured``: Relink's own registration at a provider was refused) disconnects nobody
but stops every import of that provider until an admin fixes the app's settings.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.models import Agency, DataSource, Event, Incident
from relink.notifications.kinds import OPERATIONS_ALERT
from relink.status import DataSourceStatus
from relink.status_writer import STATUS_CHANGED

DATA_SOURCE = "data_source"


@dataclass(frozen=True)
class NeedsAPerson:
    """One thing a person must act on. Every field is present for both kinds (None where it
    does not apply), so the JSON of ``relink status`` has one row shape."""

    kind: str  # "data_source" or "operations_alert"
    agency: str
    provider: str
    client: str | None
    account: str | None
    reason: str | None
    detail: str | None
    # When it went down (a data source's move to disconnected) or the alert opened.
    since: datetime | None
    data_source_id: int | None
    grant_id: int | None
    incident_id: int | None


@dataclass(frozen=True)
class Attention:
    """The rows that need a person (at most the limit asked for) and how many there are."""

    rows: list[NeedsAPerson]
    disconnected: int
    operations_alerts: int

    @property
    def total(self) -> int:
        return self.disconnected + self.operations_alerts


async def needs_a_person(session: AsyncSession, *, limit: int) -> Attention:
    """Open operations alerts first (each stops a provider's imports for everyone), then
    disconnected data sources by agency and client, ``limit`` rows in all."""
    alerts = await _operations_alerts(session, limit=limit)
    sources = await _disconnected(session, limit=max(limit - len(alerts), 0))
    alert_count = await session.scalar(
        select(func.count()).select_from(Incident).where(_open_alert())
    )
    disconnected_count = await session.scalar(
        select(func.count())
        .select_from(DataSource)
        .where(DataSource.status == DataSourceStatus.DISCONNECTED)
    )
    return Attention(
        rows=alerts + sources,
        disconnected=disconnected_count or 0,
        operations_alerts=alert_count or 0,
    )


def _open_alert() -> ColumnElement[bool]:
    return and_(Incident.kind == OPERATIONS_ALERT, Incident.resolved_at.is_(None))


async def _operations_alerts(session: AsyncSession, *, limit: int) -> list[NeedsAPerson]:
    query = (
        select(Incident, Agency.slug)
        .join(Agency, Agency.id == Incident.agency_id)
        .where(_open_alert())
        .order_by(Incident.opened_at, Incident.id)
        .limit(limit)
    )
    return [
        NeedsAPerson(
            kind=OPERATIONS_ALERT,
            agency=slug,
            provider=incident.provider,
            client=None,
            account=None,
            reason=incident.error_class.value,
            # The catalog's plain words, not the provider's own message.
            detail=incident.hint,
            since=incident.opened_at,
            data_source_id=None,
            grant_id=incident.grant_id,
            incident_id=incident.id,
        )
        for incident, slug in await session.execute(query)
    ]


async def _disconnected(session: AsyncSession, *, limit: int) -> list[NeedsAPerson]:
    if limit == 0:
        return []
    query = (
        select(
            DataSource.id,
            DataSource.agency_id,
            DataSource.grant_id,
            DataSource.provider,
            DataSource.client_name,
            DataSource.external_account_name,
            DataSource.status_reason,
            DataSource.status_detail,
            DataSource.last_failed_at,
            Agency.slug,
        )
        .join(Agency, Agency.id == DataSource.agency_id)
        .where(DataSource.status == DataSourceStatus.DISCONNECTED)
        .order_by(DataSource.agency_id, DataSource.client_name, DataSource.id)
        .limit(limit)
    )
    found = (await session.execute(query)).all()
    went_down = await _went_down_at(session, [(row.agency_id, row.id) for row in found])
    return [
        NeedsAPerson(
            kind=DATA_SOURCE,
            agency=row.slug,
            provider=row.provider,
            client=row.client_name,
            account=row.external_account_name,
            reason=row.status_reason.value if row.status_reason else None,
            detail=row.status_detail,
            since=went_down.get(row.id, row.last_failed_at),
            data_source_id=row.id,
            grant_id=row.grant_id,
            incident_id=None,
        )
        for row in found
    ]


async def _went_down_at(
    session: AsyncSession, sources: list[tuple[int, int]]
) -> dict[int, datetime]:
    """When each data source last moved to disconnected, from its status events (read per
    agency, so the event index's leading column is used)."""
    by_agency: dict[int, list[int]] = defaultdict(list)
    for agency_id, source_id in sources:
        by_agency[agency_id].append(source_id)
    moments: dict[int, datetime] = {}
    for agency_id, ids in by_agency.items():
        query = (
            select(Event.subject_id, func.max(Event.at))
            .where(
                Event.agency_id == agency_id,
                Event.subject_type == DataSource.__tablename__,
                Event.subject_id.in_(ids),
                Event.action == STATUS_CHANGED,
                Event.to_status == DataSourceStatus.DISCONNECTED.value,
            )
            .group_by(Event.subject_id)
        )
        moments.update({source_id: at for source_id, at in await session.execute(query)})
    return moments
