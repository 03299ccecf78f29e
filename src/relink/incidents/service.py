"""Incidents: opened on the first failure of a cause, extended by later ones, resolved on repair."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, insert, literal, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from relink.kit.id_lists import on_postgresql, unnest_ids
from relink.models import Incident, IncidentDataSource
from relink.notifications.fanout import notify_incident, resolve_for_incidents
from relink.notifications.kinds import EXPIRES_SOON, kind_for
from relink.providers.taxonomy import GRANT_LEVEL, ErrorClass


def cause_family(error_class: ErrorClass) -> str:
    """Revoked and expired are one cause (the grant needs re-authorizing), the rest their own."""
    return "auth" if error_class in GRANT_LEVEL else error_class.value


# Incident keys: one open incident per key. Every key is built here, never by hand.


def grant_key(grant_id: int, error_class: ErrorClass) -> str:
    """A grant's failure of ``error_class``'s cause."""
    return f"grant:{grant_id}:{cause_family(error_class)}"


def expires_soon_key(grant_id: int) -> str:
    """A grant whose provider's documented clock is about to end it (not a failure yet)."""
    return f"grant:{grant_id}:{EXPIRES_SOON}"


def data_source_key(data_source_id: int, error_class: ErrorClass) -> str:
    """One data source's failure of ``error_class``'s cause."""
    return f"data_source:{data_source_id}:{cause_family(error_class)}"


def provider_key(provider: str, error_class: ErrorClass) -> str:
    """A failure of our own registration at ``provider`` (no grant or data source to blame)."""
    return f"provider:{provider}:{cause_family(error_class)}"


@dataclass(frozen=True)
class Opened:
    incident: Incident
    created: bool
    # Data sources this failure added to the incident (all of them when created).
    added_data_source_ids: tuple[int, ...]


async def open_or_extend(
    session: AsyncSession,
    *,
    agency_id: int,
    key: str,
    error_class: ErrorClass,
    provider: str,
    now: datetime,
    kind: str | None = None,
    grant_id: int | None = None,
    data_source_id: int | None = None,
    data_source_ids: Iterable[int] = (),
    detail: str | None = None,
    hint: str | None = None,
    expires_on: date | None = None,
    detected_via: str | None = None,
    evidence_at: datetime | None = None,
) -> Opened:
    """The open incident of ``key``, extended, or a new one; safe against a concurrent opener.

    ``expires_on`` is the day an "expires soon" incident's grant ends. ``detected_via`` says
    how the failure was found (import, refresh, probe, signal) and ``evidence_at`` when its
    earliest evidence arrived (``now`` by default): the two make the time to detection.
    """
    incident = await _open_by_key(session, agency_id=agency_id, key=key)
    created = False
    if incident is None:
        try:
            async with session.begin_nested():
                incident = Incident(
                    agency_id=agency_id,
                    key=key,
                    error_class=error_class,
                    kind=kind or kind_for(error_class),
                    provider=provider,
                    grant_id=grant_id,
                    data_source_id=data_source_id,
                    detail=detail,
                    hint=hint,
                    expires_on=expires_on,
                    opened_at=now,
                    last_seen_at=now,
                    failure_count=1,
                    detected_via=detected_via,
                    evidence_at=min(evidence_at or now, now),
                )
                session.add(incident)
            created = True
        except IntegrityError:
            # Another worker opened it between our read and our insert: join theirs.
            incident = await _open_by_key(session, agency_id=agency_id, key=key)
            assert incident is not None
    if not created:
        incident.failure_count += 1
        incident.last_seen_at = now
        incident.detail = detail or incident.detail
        incident.hint = hint or incident.hint
        incident.expires_on = expires_on or incident.expires_on
    added = await _link(session, incident=incident, data_source_ids=data_source_ids)
    await session.flush()
    if created or added:
        await notify_incident(session, incident=incident, now=now)
    return Opened(incident=incident, created=created, added_data_source_ids=added)


async def resolve(
    session: AsyncSession, *, agency_id: int, keys: Iterable[str], now: datetime, by: str
) -> list[int]:
    """Resolve the open incidents of ``keys``; they stay in history. Returns their ids."""
    key_list = list(keys)
    if not key_list:
        return []
    return await resolve_where(
        session, agency_id=agency_id, condition=Incident.key.in_(key_list), now=now, by=by
    )


async def resolve_where(
    session: AsyncSession,
    *,
    agency_id: int,
    condition: ColumnElement[bool],
    now: datetime,
    by: str,
) -> list[int]:
    """Resolve the open incidents matching ``condition`` (a join or subquery, never thousands
    of keys) and their notifications; returns their ids."""
    ids = list(
        await session.scalars(
            select(Incident.id).where(
                Incident.agency_id == agency_id, condition, Incident.resolved_at.is_(None)
            )
        )
    )
    if ids:
        await session.execute(
            update(Incident)
            .where(Incident.id.in_(ids))
            .values(resolved_at=now, resolved_by=by)
            .execution_options(synchronize_session="fetch")
        )
        await resolve_for_incidents(session, incident_ids=ids, now=now)
    return ids


async def open_incident(session: AsyncSession, *, agency_id: int, key: str) -> Incident | None:
    """The open incident of ``key``, if any."""
    return await _open_by_key(session, agency_id=agency_id, key=key)


async def _open_by_key(session: AsyncSession, *, agency_id: int, key: str) -> Incident | None:
    return await session.scalar(
        select(Incident).where(
            Incident.agency_id == agency_id, Incident.key == key, Incident.resolved_at.is_(None)
        )
    )


async def _link(
    session: AsyncSession, *, incident: Incident, data_source_ids: Iterable[int]
) -> tuple[int, ...]:
    wanted = set(data_source_ids)
    if incident.data_source_id is not None:
        wanted.add(incident.data_source_id)
    if not wanted:
        return ()
    linked = set(
        await session.scalars(
            select(IncidentDataSource.data_source_id).where(
                IncidentDataSource.incident_id == incident.id
            )
        )
    )
    added = tuple(sorted(wanted - linked))
    if added and on_postgresql(session):
        # One statement with one array parameter: ten thousand links build no row in Python.
        await session.execute(
            insert(IncidentDataSource).from_select(
                ["incident_id", "data_source_id", "agency_id"],
                select(
                    literal(incident.id, IncidentDataSource.incident_id.type),
                    unnest_ids(added),
                    literal(incident.agency_id, IncidentDataSource.agency_id.type),
                ),
            )
        )
    elif added:
        # SQLite runs an executemany of plain rows in C.
        await session.execute(
            insert(IncidentDataSource),
            [
                {"incident_id": incident.id, "data_source_id": ds, "agency_id": incident.agency_id}
                for ds in added
            ],
        )
    return added
