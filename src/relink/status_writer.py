"""The one writer of a status: every move of a data source or a grant, and its event.

``transition_many`` is the only code that sets ``DataSource.status`` or ``Grant.status``
(``tests/foundation/test_status_writer.py`` greps the tree for any other). It checks each move
against the state machine of ``status.py``, moves many rows with one conditional UPDATE per
chunk and writes their events with one INSERT ... SELECT per chunk, so an agency's ten thousand
data sources are a handful of statements, not ten thousand flushes.

Illegal moves: by default every row named must be able to make the move, or
``IllegalTransition`` is raised before anything is written (a person's Pause, Restore or
Disconnect must not silently do nothing). Callers that move "whichever of these are still in
state X" pass ``only_from``: rows in any other state are left alone, and the filter is part
of the UPDATE itself, so a row changed by someone else a moment ago cannot be moved twice.

Every event has one shape: ``action="status_changed"``, ``from_status``/``to_status``,
``reason`` = the human why, and ``details={"error_class": ...}`` when a cause is known (plus
any ``details`` the caller adds, such as the grant a reconnect came through).

Every move also names its agencies to ``status_versions``: their status versions move when the
transaction commits, so a count of their statuses kept anywhere is counted again.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any, overload

from sqlalchemy import String, cast, insert, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from relink.errors import IllegalTransition
from relink.kit.id_lists import id_in
from relink.models import DataSource, Event, Grant
from relink.providers.taxonomy import ErrorClass
from relink.status import (
    DATA_SOURCE_TRANSITIONS,
    GRANT_TRANSITIONS,
    DataSourceStatus,
    GrantStatus,
)
from relink.status_versions import note_changed

# Rows per statement: the ids travel as bound parameters, and this stays well under SQLite's
# (32,766) and asyncpg's (32,767) limits while keeping 10k rows to ten round trips.
CHUNK = 1000
STATUS_CHANGED = "status_changed"
_EVENT_COLUMNS = (
    "agency_id",
    "at",
    "actor",
    "subject_type",
    "subject_id",
    "action",
    "from_status",
    "to_status",
    "reason",
    "details",
)


def may_become_data_source(target: DataSourceStatus) -> frozenset[DataSourceStatus]:
    """Every data source status from which ``target`` is a legal move."""
    return frozenset(s for s, targets in DATA_SOURCE_TRANSITIONS.items() if target in targets)


def may_become_grant(target: GrantStatus) -> frozenset[GrantStatus]:
    """Every grant status from which ``target`` is a legal move."""
    return frozenset(s for s, targets in GRANT_TRANSITIONS.items() if target in targets)


@overload
async def transition_many(
    session: AsyncSession,
    ids: Iterable[int],
    *,
    to: DataSourceStatus,
    actor: str,
    now: datetime,
    reason: str | None = None,
    error_class: ErrorClass | None = None,
    detail: str | None = None,
    details: Mapping[str, Any] | None = None,
    only_from: Collection[DataSourceStatus] | None = None,
) -> list[int]: ...


@overload
async def transition_many(
    session: AsyncSession,
    ids: Iterable[int],
    *,
    to: GrantStatus,
    actor: str,
    now: datetime,
    reason: str | None = None,
    error_class: ErrorClass | None = None,
    detail: str | None = None,
    details: Mapping[str, Any] | None = None,
    only_from: Collection[GrantStatus] | None = None,
) -> list[int]: ...


async def transition_many(
    session: AsyncSession,
    ids: Iterable[int],
    *,
    to: DataSourceStatus | GrantStatus,
    actor: str,
    now: datetime,
    reason: str | None = None,
    error_class: ErrorClass | None = None,
    detail: str | None = None,
    details: Mapping[str, Any] | None = None,
    only_from: Collection[DataSourceStatus] | Collection[GrantStatus] | None = None,
) -> list[int]:
    """Move the data sources (``to`` a ``DataSourceStatus``) or grants (``to`` a
    ``GrantStatus``) named by ``ids`` to ``to``; return the ids moved, in id order.

    ``error_class`` becomes the row's ``status_reason`` and the event's
    ``details["error_class"]``; ``detail`` the row's ``status_detail`` (what pages show);
    ``reason`` the event's why, defaulting to ``detail`` and then to the error class.
    Loaded objects in the session see the new values without another round trip.
    """
    model: type[DataSource] | type[Grant]
    legal: frozenset[StrEnum]
    if isinstance(to, DataSourceStatus):
        model, subject, legal = DataSource, "data source", may_become_data_source(to)
    else:
        model, subject, legal = Grant, "grant", may_become_grant(to)
    if only_from is not None:
        for status in only_from:
            if status not in legal:
                raise IllegalTransition(subject, status, to)
        allowed: frozenset[StrEnum] = frozenset(only_from)
    else:
        allowed = legal
    wanted = sorted(set(ids))
    if not wanted or not allowed:
        return []
    # Changes still pending in the session must reach the rows before they are read.
    await session.flush()
    moving: list[int] = []
    agencies: set[int] = set()
    for chunk in _chunks(wanted):
        if only_from is None:
            # Every row named must be able to move: read their statuses to say which cannot.
            found = await session.execute(
                select(model.id, model.agency_id, model.status)
                .where(id_in(session, model.id, chunk))
                .order_by(model.id)
                .with_for_update()
            )
            for row in found:
                if row.status not in allowed:
                    raise IllegalTransition(subject, row.status, to)
                moving.append(row.id)
                agencies.add(row.agency_id)
        else:
            # Locked in id order (no deadlock between two movers); only the ids (and their
            # agencies) come back, the events read the old statuses in the database.
            locked = await session.execute(
                select(model.id, model.agency_id)
                .where(id_in(session, model.id, chunk), model.status.in_(allowed))
                .order_by(model.id)
                .with_for_update()
            )
            for row_id, agency_id in locked:
                moving.append(row_id)
                agencies.add(agency_id)
    if not moving:
        return []
    # Whatever keeps a count of these agencies' statuses counts again once this commits.
    note_changed(session, agencies)
    values = _values(to, error_class=error_class, detail=detail, now=now)
    why = reason or detail or (error_class.value if error_class else None)
    shared = {**(details or {})}
    if error_class is not None:
        shared["error_class"] = error_class.value
    for chunk in _chunks(moving):
        # The events first, read from the rows as they are (their old status), in one
        # INSERT ... SELECT: ten thousand moves build no Python row at all.
        await session.execute(
            insert(Event).from_select(
                list(_EVENT_COLUMNS),
                select(
                    model.agency_id,
                    literal(now, Event.at.type),
                    literal(actor, Event.actor.type),
                    literal(model.__tablename__, Event.subject_type.type),
                    model.id,
                    literal(STATUS_CHANGED, Event.action.type),
                    cast(model.status, String),
                    literal(to.value, Event.to_status.type),
                    literal(why, Event.reason.type),
                    literal(shared, Event.details.type),
                ).where(id_in(session, model.id, chunk), model.status.in_(allowed)),
            )
        )
        await session.execute(
            update(model)
            .where(id_in(session, model.id, chunk), model.status.in_(allowed))
            .values(**values, updated_at=now)
            .execution_options(synchronize_session=False)
        )
    moved = moving
    _sync_loaded(session, model, moved, {**values, "updated_at": now})
    return moved


def _values(
    to: DataSourceStatus | GrantStatus,
    *,
    error_class: ErrorClass | None,
    detail: str | None,
    now: datetime,
) -> dict[str, Any]:
    values: dict[str, Any] = {"status": to, "status_reason": error_class, "status_detail": detail}
    if isinstance(to, DataSourceStatus):
        # When it was paused or put in the trash; cleared by any other move.
        values["paused_at"] = now if to is DataSourceStatus.PAUSED else None
        values["removed_at"] = now if to is DataSourceStatus.REMOVED else None
    return values


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def _sync_loaded(
    session: AsyncSession,
    model: type[DataSource] | type[Grant],
    ids: list[int],
    values: Mapping[str, Any],
) -> None:
    """Objects already loaded see the UPDATE as committed state: no refresh, no second write."""
    identity_map = session.sync_session.identity_map
    moved = set(ids)
    # The session holds a few objects, the move may name ten thousand: walk the smaller.
    loaded = [
        obj
        for obj in list(identity_map.values())
        if isinstance(obj, model) and obj.__dict__.get("id") in moved
    ]
    for obj in loaded:
        for name, value in values.items():
            set_committed_value(obj, name, value)
        if isinstance(obj, DataSource):
            # Computed by the database from the status: stale now, so read again if asked.
            session.expire(obj, ["attention"])
