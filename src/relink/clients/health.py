"""Read-only views of clients' health for the pages: summaries, broken grants, timelines.

Every query here goes through the access rule (``auth/access.py``): a client login reads its
own client only, a limited staff user the clients it was given. Nothing here writes.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.auth.access import data_source_visible, scope_of, visible_clients
from relink.data_sources.gaps import DOWN_STATUSES, gap_start
from relink.data_sources.rows import STATUS_RANK, Row
from relink.kit.complete_days import complete_through
from relink.models import Client, DataSource, Grant, Incident, IncidentDataSource, User
from relink.providers.taxonomy import AuthKind
from relink.status import DataSourceStatus, GrantStatus

# How far back the client page's health timeline reaches.
TIMELINE_DAYS = 90
# A client has a handful of data sources; this only guards against a pathological one.
CLIENT_ROWS_LIMIT = 500
# The /clients list is for finding a client; a search narrows anything longer.
CLIENT_LIST_LIMIT = 200


@dataclass(frozen=True)
class ClientHealth:
    id: int
    name: str
    counts: dict[DataSourceStatus, int] = field(default_factory=dict)
    # The earliest day whose data may be missing among its down data sources.
    missing_since: date | None = None

    @property
    def total(self) -> int:
        return sum(n for s, n in self.counts.items() if s is not DataSourceStatus.REMOVED)

    @property
    def worst(self) -> DataSourceStatus | None:
        live = [s for s, n in self.counts.items() if n and s is not DataSourceStatus.REMOVED]
        return min(live, key=STATUS_RANK.__getitem__) if live else None


@dataclass(frozen=True)
class BrokenGrant:
    """An OAuth sign-in that is down, with how many visible data sources wait for it."""

    grant_id: int
    provider: str
    identity: str | None
    waiting: int


@dataclass(frozen=True)
class TimelineItem:
    incident: Incident
    account_names: tuple[str, ...]


async def client_rows(
    session: AsyncSession,
    *,
    user: User,
    client_id: int | None = None,
    include_removed: bool = False,
) -> list[Row]:
    """The data sources of the visible clients (or of one), worst status first; any role."""
    query = (
        select(DataSource, Client.name, Grant.identity_name, Grant.auth_kind)
        .join(Client, Client.id == DataSource.client_id)
        .join(Grant, Grant.id == DataSource.grant_id)
        .where(data_source_visible(scope_of(user)))
        .order_by(Client.name, DataSource.provider, DataSource.id)
        .limit(CLIENT_ROWS_LIMIT)
    )
    if client_id is not None:
        query = query.where(DataSource.client_id == client_id)
    if not include_removed:
        query = query.where(DataSource.status != DataSourceStatus.REMOVED)
    rows = [
        Row.of(source, name, identity, kind)
        for source, name, identity, kind in await session.execute(query)
    ]
    return sorted(rows, key=lambda r: (r.client_name, STATUS_RANK[r.source.status]))


async def client_choices(session: AsyncSession, *, user: User) -> list[tuple[int, str]]:
    """(id, name) of every visible client, for the client filter."""
    clients = visible_clients(scope_of(user)).order_by(Client.name)
    return [(client.id, client.name) for client in await session.scalars(clients)]


async def status_counts(session: AsyncSession, *, user: User) -> dict[DataSourceStatus, int]:
    """How many visible data sources are in each status: one grouped query."""
    rows = await session.execute(
        select(DataSource.status, func.count())
        .where(data_source_visible(scope_of(user)))
        .group_by(DataSource.status)
    )
    return {status: int(count) for status, count in rows}


async def broken_grants(session: AsyncSession, *, user: User) -> list[BrokenGrant]:
    """Down OAuth grants and their visible disconnected data sources, most first.

    One re-authorization repairs all of them, so the page offers one "Reconnect all".
    """
    waiting = func.count(DataSource.id)
    rows = await session.execute(
        select(Grant.id, Grant.provider, Grant.identity_name, Grant.external_identity, waiting)
        .join(DataSource, DataSource.grant_id == Grant.id)
        .where(
            Grant.agency_id == user.agency_id,
            Grant.auth_kind == AuthKind.OAUTH2,
            Grant.status != GrantStatus.ACTIVE,
            DataSource.status == DataSourceStatus.DISCONNECTED,
            data_source_visible(scope_of(user)),
        )
        .group_by(Grant.id, Grant.provider, Grant.identity_name, Grant.external_identity)
        .order_by(waiting.desc(), Grant.id)
    )
    return [
        BrokenGrant(grant_id, provider, name or identity, int(count))
        for grant_id, provider, name, identity, count in rows
    ]


async def client_summaries(
    session: AsyncSession, *, user: User, q: str | None = None
) -> list[ClientHealth]:
    """Visible clients by name with their data sources counted by status, and the first day
    whose data may be missing among the down ones (the same rule as each source's own gap)."""
    clients = visible_clients(scope_of(user)).with_only_columns(Client.id, Client.name)
    if q and q.strip():
        clients = clients.where(Client.name.icontains(q.strip(), autoescape=True))
    picked = list(await session.execute(clients.order_by(Client.name).limit(CLIENT_LIST_LIMIT)))
    return await health_of(session, clients=[(cid, name) for cid, name in picked])


async def health_of(session: AsyncSession, *, clients: list[tuple[int, str]]) -> list[ClientHealth]:
    """The health of these (id, name) clients, already known visible, in their order: their
    data sources counted by status, and the first day whose data may be missing among the
    down ones (the same rule as each source's own gap). One grouped query."""
    ids = [client_id for client_id, _ in clients]
    counts: dict[int, dict[DataSourceStatus, int]] = defaultdict(dict)
    gaps: dict[int, date] = {}
    if ids:
        # Per time zone too: each source's last complete day is bounded by what was over in its
        # own zone at its last import, and the earliest import of a zone bounds them all.
        imported = case((DataSource.complete_through.is_not(None), DataSource.last_ok_at))
        grouped = await session.execute(
            select(
                DataSource.client_id,
                DataSource.status,
                DataSource.account_timezone,
                func.count(),
                func.min(DataSource.complete_through),
                func.min(imported),
            )
            .where(DataSource.client_id.in_(ids))
            .group_by(DataSource.client_id, DataSource.status, DataSource.account_timezone)
        )
        for client_id, status, zone, count, oldest, first_import in grouped:
            counts[client_id][status] = counts[client_id].get(status, 0) + int(count)
            if status not in DOWN_STATUSES:
                continue
            through = complete_through(oldest, last_ok_at=first_import, time_zone=zone)
            start = gap_start(through)
            if start is not None:
                gaps[client_id] = min(gaps.get(client_id, start), start)
    return [ClientHealth(cid, name, counts[cid], gaps.get(cid)) for cid, name in clients]


async def timeline(
    session: AsyncSession, *, user: User, client_id: int, now: datetime
) -> list[TimelineItem]:
    """Incidents touching the client's data sources within the timeline's window, oldest first.

    The caller has already checked the client is visible; the join keeps it so regardless.
    """
    start = now - timedelta(days=TIMELINE_DAYS)
    rows = await session.execute(
        select(Incident, DataSource.external_account_name)
        .join(IncidentDataSource, IncidentDataSource.incident_id == Incident.id)
        .join(DataSource, DataSource.id == IncidentDataSource.data_source_id)
        .where(
            Incident.agency_id == user.agency_id,
            DataSource.client_id == client_id,
            data_source_visible(scope_of(user)),
            or_(Incident.resolved_at.is_(None), Incident.resolved_at >= start),
        )
        .order_by(Incident.opened_at, Incident.id)
    )
    accounts: dict[int, list[str]] = defaultdict(list)
    incidents: dict[int, Incident] = {}
    for incident, account in rows:
        incidents[incident.id] = incident
        accounts[incident.id].append(account)
    return [TimelineItem(i, tuple(sorted(set(accounts[i.id])))) for i in incidents.values()]
