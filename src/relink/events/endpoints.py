"""``/api/v1/events``: the audit history, filtered by data source, grant, actor and time."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from relink.dependencies import DbSession, Scope, staff_only
from relink.events.listing import EventFilters, actor_users, list_events
from relink.events.schemas import EventOut, EventPage
from relink.kit.api_pages import (
    DEFAULT_LIMIT,
    Cursor,
    Limit,
    UtcTime,
    id_after,
    id_filter,
    page_of,
)
from relink.kit.problems import problem_responses

# The history is the agency's business: for a client login it does not exist (404, not 403).
router = APIRouter(
    prefix="/api/v1/events", tags=["events"], dependencies=[Depends(staff_only("event"))]
)


@router.get("", operation_id="list_events", responses=problem_responses(401, 404, 422, 503))
async def list_history(
    scope: Scope,
    session: DbSession,
    data_source_id: Annotated[int | None, id_filter("Only this data source's events")] = None,
    grant_id: Annotated[
        int | None, id_filter("Only this grant's events and those of its data sources")
    ] = None,
    actor: Annotated[
        str | None,
        Query(max_length=80, description="Only this actor's: user:<id> or system:<part>"),
    ] = None,
    action: Annotated[
        str | None, Query(max_length=60, description="Only this action (status_changed, ...)")
    ] = None,
    since: Annotated[
        UtcTime | None, Query(description="From this time on (RFC 3339, inclusive)")
    ] = None,
    until: Annotated[
        UtcTime | None, Query(description="Before this time (RFC 3339, exclusive)")
    ] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> EventPage:
    """The events the caller may see, newest first: those of the data sources and grants
    they may see (admins also the agency's own)."""
    filters = EventFilters(
        data_source_id=data_source_id,
        grant_id=grant_id,
        actor=actor,
        action=action,
        since=since,
        until=until,
    )
    rows = await list_events(
        session, scope=scope, filters=filters, limit=limit, before_id=id_after(cursor)
    )
    shown, next_cursor = page_of(rows, limit=limit, key=lambda e: [e.id])
    users = await actor_users(
        session, agency_id=scope.user.agency_id, actors=[e.actor for e in shown]
    )
    return EventPage(items=[EventOut.of(e, users=users) for e in shown], next_cursor=next_cursor)
