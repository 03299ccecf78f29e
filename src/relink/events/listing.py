"""The audit history as the API reads it: which events a user may see, filtered and paged.

An event is about a data source or a grant (``subject_type``). Who sees it follows the pages'
rule for its subject: a data source's events for whoever may see that data source; a grant's for
whoever may see the grant (admins, or staff with a client on it); other subjects (the agency's
own settings) for admins only; a client login none (DESIGN.md: client logins are never told
about disconnects). A grant's event may list data sources by id ("reconnected"): a reader who
does not see the whole agency is shown only the ids of data sources they may see.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.auth.access import (
    UserScope,
    data_source_visible,
    ensure_staff_or_admin,
    sees_whole_agency,
)
from relink.kit.row_ids import MAX_ROW_ID
from relink.models import DataSource, Event, Role, User

DATA_SOURCE = "data_source"
GRANT = "grant"
# Keys of a grant event's details that list data source ids (grants/callback.py).
DATA_SOURCE_ID_LISTS = ("reconnected", "unreachable")
USER_ACTOR_PREFIX = "user:"


@dataclass(frozen=True)
class EventFilters:
    """What the history is narrowed to; ``until`` is exclusive, ``since`` inclusive."""

    data_source_id: int | None = None
    grant_id: int | None = None
    actor: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class UserRef:
    id: int
    name: str


def _visible_source_ids(scope: UserScope) -> Any:
    return select(DataSource.id).where(data_source_visible(scope))


def _visible_grant_ids(scope: UserScope) -> Any:
    # The grants' own rule (grants/service.py): a grant serving a data source the user sees.
    return select(DataSource.grant_id).where(data_source_visible(scope))


def event_visible(scope: UserScope) -> ColumnElement[bool]:
    """A WHERE condition on ``Event`` rows: an event the scope's user may read."""
    user = scope.user
    if not user.is_active or user.role is Role.CLIENT:
        return false()
    in_agency = Event.agency_id == user.agency_id
    if user.role is Role.ADMIN:
        return and_(in_agency)
    if sees_whole_agency(user):
        return and_(in_agency, Event.subject_type.in_((DATA_SOURCE, GRANT)))
    return and_(
        in_agency,
        or_(
            and_(
                Event.subject_type == DATA_SOURCE,
                Event.subject_id.in_(_visible_source_ids(scope)),
            ),
            and_(Event.subject_type == GRANT, Event.subject_id.in_(_visible_grant_ids(scope))),
        ),
    )


def _narrowed(scope: UserScope, filters: EventFilters) -> list[ColumnElement[bool]]:
    conditions = [event_visible(scope)]
    if filters.data_source_id is not None:
        conditions += [
            Event.subject_type == DATA_SOURCE,
            Event.subject_id == filters.data_source_id,
        ]
    if filters.grant_id is not None:
        # The grant's own events and those of the data sources on it.
        on_grant = select(DataSource.id).where(DataSource.grant_id == filters.grant_id)
        conditions.append(
            or_(
                and_(Event.subject_type == GRANT, Event.subject_id == filters.grant_id),
                and_(Event.subject_type == DATA_SOURCE, Event.subject_id.in_(on_grant)),
            )
        )
    if filters.actor is not None:
        conditions.append(Event.actor == filters.actor)
    if filters.action is not None:
        conditions.append(Event.action == filters.action)
    if filters.since is not None:
        conditions.append(Event.at >= filters.since)
    if filters.until is not None:
        conditions.append(Event.at < filters.until)
    return conditions


async def list_events(
    session: AsyncSession,
    *,
    scope: UserScope,
    filters: EventFilters,
    limit: int,
    before_id: int | None,
) -> list[Event]:
    """Up to ``limit + 1`` visible events, newest first, older than ``before_id`` if given;
    a grant's data source lists narrowed to what the reader may see."""
    ensure_staff_or_admin(scope.user, what="event")
    query = select(Event).where(*_narrowed(scope, filters))
    if before_id is not None:
        query = query.where(Event.id < before_id)
    events = list(await session.scalars(query.order_by(Event.id.desc()).limit(limit + 1)))
    if not sees_whole_agency(scope.user):
        await _narrow_details(session, scope=scope, events=events)
    return events


async def _narrow_details(session: AsyncSession, *, scope: UserScope, events: list[Event]) -> None:
    """Drop from each event's id lists the data sources the reader may not see. The events
    are taken out of the session first: what is shown is never written back."""
    listed = {
        value
        for event in events
        for key in DATA_SOURCE_ID_LISTS
        for value in _ids(event.details.get(key))
    }
    if not listed:
        return
    seen = set(
        await session.scalars(
            select(DataSource.id).where(
                DataSource.id.in_(sorted(listed)), data_source_visible(scope)
            )
        )
    )
    for event in events:
        if not any(key in event.details for key in DATA_SOURCE_ID_LISTS):
            continue
        session.expunge(event)
        event.details = {
            key: [v for v in _ids(value) if v in seen] if key in DATA_SOURCE_ID_LISTS else value
            for key, value in event.details.items()
        }


def _ids(value: Any) -> list[int]:
    if not isinstance(value, list):
        return []
    return [v for v in value if isinstance(v, int) and not isinstance(v, bool)]


def actor_user_id(actor: str | None) -> int | None:
    """The user id of a ``user:<id>`` actor (events/service.py's ``user_actor``), else None."""
    if actor is None or not actor.startswith(USER_ACTOR_PREFIX):
        return None
    number = actor.removeprefix(USER_ACTOR_PREFIX)
    if not number.isascii() or not number.isdigit():
        return None
    user_id = int(number)
    return user_id if 1 <= user_id <= MAX_ROW_ID else None


async def actor_users(
    session: AsyncSession, *, agency_id: int, actors: Iterable[str | None]
) -> dict[int, UserRef]:
    """The agency's users among ``actors`` (``user:<id>``), by id, in one query."""
    ids = {i for i in (actor_user_id(a) for a in actors) if i is not None}
    if not ids:
        return {}
    rows = await session.execute(
        select(User.id, User.name).where(User.id.in_(sorted(ids)), User.agency_id == agency_id)
    )
    return {user_id: UserRef(user_id, name) for user_id, name in rows}
