"""Who is told what (DESIGN.md): one notification per incident per person, never duplicated.

Admins hear of every incident; staff of incidents touching a client they may see, listing only
those clients; client users never. A later failure of the same cause updates the same item
(its client list grows) instead of adding one.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import Select, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relink.auth.access import (
    sees_every_client,
    told_about_incidents,
    visible_client_ids_by_user,
)
from relink.models import (
    Client,
    DataSource,
    EmailPreference,
    Grant,
    Incident,
    IncidentDataSource,
    Notification,
    Role,
    User,
)
from relink.notifications import kinds
from relink.notifications.live import queue_live_update
from relink.providers.catalog import Catalog, default_catalog
from relink.providers.taxonomy import AuthKind

# Several incidents for one person inside this window become one digest e-mail, not many.
EMAIL_BURST_WINDOW = timedelta(minutes=2)
# A payload names at most this many clients (plus how many in all); the notification page lists
# every one from the database, so ten thousand names are never copied into each person's item.
NAMED_CLIENTS = 10
# Daily digests go out at this hour (UTC).
DAILY_DIGEST_AT = time(8, 0)


@dataclass(frozen=True)
class Linked:
    data_source_id: int
    client_id: int
    client_name: str


def email_due_at(preference: EmailPreference, *, now: datetime) -> datetime | None:
    """When this person's e-mail for a new notification goes out (None: never)."""
    if preference is EmailPreference.OFF:
        return None
    if preference is EmailPreference.DAILY_DIGEST:
        today_at = datetime.combine(now.date(), DAILY_DIGEST_AT, tzinfo=now.tzinfo)
        return today_at if today_at > now else today_at + timedelta(days=1)
    return now + EMAIL_BURST_WINDOW


async def notify_incident(
    session: AsyncSession, *, incident: Incident, now: datetime, catalog: Catalog | None = None
) -> None:
    """Create or update every recipient's notification for ``incident``."""
    await session.flush()
    linked = await _linked(session, incident)
    users = list(
        await session.scalars(
            select(User)
            .where(User.agency_id == incident.agency_id, told_about_incidents())
            .order_by(User.id)
        )
    )
    # The access rule itself, in its batch form: each recipient's clients among the linked
    # (read only for those with a list: everyone else sees every client of the agency).
    seen = await visible_client_ids_by_user(
        session,
        user_ids=[u.id for u in users if not sees_every_client(u)],
        client_ids=_linked_client_ids(incident),
    )
    existing = {
        n.user_id: n
        for n in await session.scalars(
            select(Notification).where(Notification.incident_id == incident.id)
        )
    }
    facts = await _facts(session, incident, linked, catalog or default_catalog())
    new_rows: list[dict[str, object]] = []
    touched: list[int] = []
    # Sorted by client name (by the database): each recipient's first few are a prefix.
    every_client = {item.client_id for item in linked}
    for user in users:
        allowed = every_client if sees_every_client(user) else seen.get(user.id, set())
        if incident.kind == kinds.OPERATIONS_ALERT and user.role is not Role.ADMIN:
            continue
        mine = linked if every_client <= allowed else [i for i in linked if i.client_id in allowed]
        # Admins hear of every incident (an operations alert touches no client at all).
        if user.role is not Role.ADMIN and not mine:
            continue
        content = kinds.build(
            incident.kind,
            facts,
            client_names=_first_names(mine),
            data_source_ids=heapq.nsmallest(NAMED_CLIENTS, (i.data_source_id for i in mine)),
            client_count=len(every_client if mine is linked else {i.client_id for i in mine}),
        )
        payload = content.model_dump(mode="json")
        current = existing.get(user.id)
        if current is None:
            new_rows.append(
                {
                    "agency_id": incident.agency_id,
                    "user_id": user.id,
                    "incident_id": incident.id,
                    "kind": content.kind,
                    "payload": payload,
                    "created_at": now,
                    "updated_at": now,
                    "email_due_at": email_due_at(user.email_preference, now=now),
                }
            )
            touched.append(user.id)
        elif current.payload != payload:
            current.payload = payload
            current.updated_at = now
            touched.append(user.id)
    if new_rows:
        await session.execute(insert(Notification), new_rows)
    queue_live_update(session, user_ids=touched)


def _first_names(mine: list[Linked]) -> list[str]:
    names: list[str] = []
    for item in mine:
        if not names or names[-1] != item.client_name:
            names.append(item.client_name)
            if len(names) == NAMED_CLIENTS:
                break
    return names


async def resolve_for_incidents(
    session: AsyncSession, *, incident_ids: list[int], now: datetime
) -> None:
    """The cause is repaired: resolved (and so no longer unread) for everyone; kept in history."""
    if not incident_ids:
        return
    user_ids = list(
        await session.scalars(
            select(Notification.user_id).where(
                Notification.incident_id.in_(incident_ids), Notification.resolved_at.is_(None)
            )
        )
    )
    await session.execute(
        update(Notification)
        .where(Notification.incident_id.in_(incident_ids), Notification.resolved_at.is_(None))
        .values(resolved_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(Notification)
        .where(Notification.incident_id.in_(incident_ids), Notification.read_at.is_(None))
        .values(read_at=now)
        .execution_options(synchronize_session=False)
    )
    queue_live_update(session, user_ids=user_ids)


async def subscribe_user(session: AsyncSession, *, user: User, now: datetime) -> None:
    """A new user, or new client access: they are told of what is already open."""
    open_incidents = await session.scalars(
        select(Incident).where(Incident.agency_id == user.agency_id, Incident.resolved_at.is_(None))
    )
    for incident in list(open_incidents):
        await notify_incident(session, incident=incident, now=now)


async def _linked(session: AsyncSession, incident: Incident) -> list[Linked]:
    rows = await session.execute(
        select(DataSource.id, Client.id, Client.name)
        .join(IncidentDataSource, IncidentDataSource.data_source_id == DataSource.id)
        .join(Client, Client.id == DataSource.client_id)
        .where(IncidentDataSource.incident_id == incident.id)
        .order_by(Client.name, DataSource.id)
    )
    return [Linked(ds_id, client_id, name) for ds_id, client_id, name in rows]


def _linked_client_ids(incident: Incident) -> Select[int]:
    return (
        select(DataSource.client_id)
        .join(IncidentDataSource, IncidentDataSource.data_source_id == DataSource.id)
        .where(IncidentDataSource.incident_id == incident.id)
    )


async def _facts(
    session: AsyncSession, incident: Incident, linked: list[Linked], catalog: Catalog
) -> kinds.Facts:
    grant_id = incident.grant_id
    if grant_id is None and linked:
        grant_id = await session.scalar(
            select(DataSource.grant_id).where(DataSource.id == linked[0].data_source_id)
        )
    auth_kind = AuthKind.OAUTH2
    if grant_id is not None:
        found = await session.scalar(select(Grant.auth_kind).where(Grant.id == grant_id))
        auth_kind = found or AuthKind.OAUTH2
    return kinds.Facts(
        incident_id=incident.id,
        provider=incident.provider,
        provider_name=catalog.display_name(incident.provider),
        opened_at=incident.opened_at,
        error_class=incident.error_class,
        grant_id=grant_id,
        hint=incident.hint or "",
        auth_kind=auth_kind,
        expires_on=incident.expires_on,
    )
