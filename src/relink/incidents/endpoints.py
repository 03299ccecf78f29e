"""``/api/v1/incidents``: the agency's incidents, open and resolved, as their pages show them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from relink.dependencies import DbSession, Jobs, Scope, staff_only
from relink.events.listing import actor_users
from relink.incidents import listing
from relink.incidents.listing import IncidentFilters, IncidentState
from relink.incidents.schemas import (
    AffectedDataSourceOut,
    AffectedDataSourcePage,
    IncidentOut,
    IncidentPage,
)
from relink.kit.api_pages import DEFAULT_LIMIT, Cursor, Limit, id_after, id_filter, page_of
from relink.kit.problems import problem_responses
from relink.kit.row_ids import RowId

# Incidents are the agency's business: for a client login none exists (404, not 403).
router = APIRouter(
    prefix="/api/v1/incidents",
    tags=["incidents"],
    dependencies=[Depends(staff_only("incident"))],
)


@router.get(
    "",
    operation_id="list_incidents",
    responses=problem_responses(401, 404, 422, 503),
)
async def list_incidents(
    scope: Scope,
    session: DbSession,
    jobs: Jobs,
    state: Annotated[
        IncidentState | None, Query(description="open or resolved; both when omitted")
    ] = None,
    data_source_id: Annotated[
        int | None, id_filter("Only incidents touching this data source")
    ] = None,
    grant_id: Annotated[int | None, id_filter("Only incidents of this grant")] = None,
    client_id: Annotated[int | None, id_filter("Only incidents touching this client")] = None,
    provider: Annotated[
        str | None, Query(max_length=64, description="Only this provider's (catalog key)")
    ] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> IncidentPage:
    """Incidents the caller is told about, newest first: admins every one, staff those touching
    a client they may see (listing only those clients)."""
    filters = IncidentFilters(
        state=state,
        data_source_id=data_source_id,
        grant_id=grant_id,
        client_id=client_id,
        provider=provider,
    )
    rows = await listing.list_incidents(
        session, scope=scope, filters=filters, limit=limit, before_id=id_after(cursor)
    )
    shown, next_cursor = page_of(rows, limit=limit, key=lambda i: [i.id])
    touched = await listing.affected(session, scope=scope, incident_ids=[i.id for i in shown])
    users = await actor_users(
        session, agency_id=scope.user.agency_id, actors=[i.resolved_by for i in shown]
    )
    items = [
        IncidentOut.of(
            i, affected=touched.get(i.id, listing.Affected()), users=users, catalog=jobs.catalog
        )
        for i in shown
    ]
    return IncidentPage(items=items, next_cursor=next_cursor)


@router.get(
    "/{incident_id}",
    operation_id="get_incident",
    responses=problem_responses(401, 404, 422, 503),
)
async def get_incident(
    incident_id: RowId, scope: Scope, session: DbSession, jobs: Jobs
) -> IncidentOut:
    """One incident, with how it was found, whom it touches and who repaired it."""
    incident = await listing.get_incident(session, scope=scope, incident_id=incident_id)
    touched = await listing.affected(session, scope=scope, incident_ids=[incident.id])
    users = await actor_users(
        session, agency_id=scope.user.agency_id, actors=[incident.resolved_by]
    )
    return IncidentOut.of(
        incident,
        affected=touched.get(incident.id, listing.Affected()),
        users=users,
        catalog=jobs.catalog,
    )


@router.get(
    "/{incident_id}/data-sources",
    operation_id="list_incident_data_sources",
    responses=problem_responses(401, 404, 422, 503),
)
async def list_incident_data_sources(
    incident_id: RowId,
    scope: Scope,
    session: DbSession,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> AffectedDataSourcePage:
    """Every data source the incident touches that the caller may see, by id."""
    rows = await listing.affected_data_sources(
        session, scope=scope, incident_id=incident_id, limit=limit, after_id=id_after(cursor)
    )
    shown, next_cursor = page_of(rows, limit=limit, key=lambda s: [s.id])
    return AffectedDataSourcePage(
        items=[AffectedDataSourceOut.of(s) for s in shown], next_cursor=next_cursor
    )
