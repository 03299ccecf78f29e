"""``/api/v1/grants``: the list of grants, the clients on one, and its reconnect links.

One grant, its reconnect and a new link are ``grants/endpoints.py``'s (the same prefix).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from relink.dependencies import DbSession, Jobs, Now, Scope, staff_only
from relink.events.listing import actor_users
from relink.grants import listing
from relink.grants.link_revoke import revoke_link
from relink.grants.list_schemas import (
    GrantClientOut,
    GrantClientPage,
    GrantPage,
    GrantSummaryOut,
    ReconnectLinkOut,
    ReconnectLinkPage,
)
from relink.grants.listing import GrantFilters
from relink.grants.source_counts import GrantCountsCache, SourceCounts
from relink.kit.api_pages import (
    DEFAULT_LIMIT,
    Cursor,
    Limit,
    id_after,
    name_id_after,
    page_of,
)
from relink.kit.problems import problem_responses
from relink.kit.row_ids import RowId
from relink.providers.taxonomy import AuthKind
from relink.status import GrantStatus

# Grants are the agency's business: for a client login none exists (404, not 403).
router = APIRouter(
    prefix="/api/v1/grants", tags=["grants"], dependencies=[Depends(staff_only("grant"))]
)


@router.get("", operation_id="list_grants", responses=problem_responses(401, 404, 422, 503))
async def list_grants(
    request: Request,
    scope: Scope,
    session: DbSession,
    jobs: Jobs,
    status: Annotated[GrantStatus | None, Query(description="Only grants in this status")] = None,
    provider: Annotated[
        str | None, Query(max_length=64, description="Only this provider's (catalog key)")
    ] = None,
    auth_kind: Annotated[AuthKind | None, Query(description="Only this kind of sign-in")] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> GrantPage:
    """The grants the caller may see, by id: admins every one, staff those serving a client
    they may see (counting only those clients' data sources)."""
    rows = await listing.list_grants(
        session,
        scope=scope,
        filters=GrantFilters(status=status, provider=provider, auth_kind=auth_kind),
        limit=limit,
        after_id=id_after(cursor),
    )
    shown, next_cursor = page_of(rows, limit=limit, key=lambda g: [g.id])
    # After the rows, through their session: counts kept from before a status change those
    # rows show are not served (kept_counts.py).
    kept: GrantCountsCache = request.app.state.grant_counts
    counts = await kept.get(request.app.state.database, user=scope.user, reading=session)
    items = [
        GrantSummaryOut.of(g, counts=counts.get(g.id, SourceCounts()), catalog=jobs.catalog)
        for g in shown
    ]
    return GrantPage(items=items, next_cursor=next_cursor)


@router.get(
    "/{grant_id}/clients",
    operation_id="list_grant_clients",
    responses=problem_responses(401, 404, 422, 503),
)
async def list_grant_clients(
    grant_id: RowId,
    scope: Scope,
    session: DbSession,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> GrantClientPage:
    """The clients the grant serves that the caller may see, by name: whom one reconnect
    repairs."""
    rows = await listing.grant_clients(
        session, scope=scope, grant_id=grant_id, limit=limit, after=name_id_after(cursor)
    )
    shown, next_cursor = page_of(rows, limit=limit, key=lambda c: [c.name, c.client_id])
    return GrantClientPage(items=[GrantClientOut.of(c) for c in shown], next_cursor=next_cursor)


@router.get(
    "/{grant_id}/reconnect-links",
    operation_id="list_reconnect_links",
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def list_reconnect_links(
    grant_id: RowId,
    scope: Scope,
    session: DbSession,
    now: Now,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> ReconnectLinkPage:
    """The grant's client reconnect links, newest first, and whether each still works
    (admins; a link's address is never shown again)."""
    rows = await listing.reconnect_links(
        session, scope=scope, grant_id=grant_id, limit=limit, before_id=id_after(cursor)
    )
    shown, next_cursor = page_of(rows, limit=limit, key=lambda link: [link.id])
    users = await actor_users(
        session,
        agency_id=scope.user.agency_id,
        actors=[f"user:{link.created_by}" for link in shown if link.created_by],
    )
    return ReconnectLinkPage(
        items=[ReconnectLinkOut.of(link, now=now, users=users) for link in shown],
        next_cursor=next_cursor,
    )


@router.delete(
    "/{grant_id}/reconnect-links/{link_id}",
    status_code=204,
    operation_id="revoke_reconnect_link",
    # 409: the link was used already; withdrawing one withdrawn before changes nothing.
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def revoke_reconnect_link(
    grant_id: RowId, link_id: RowId, scope: Scope, session: DbSession, now: Now
) -> Response:
    """Withdraw a client reconnect link (admins): from now on it opens nothing."""
    await revoke_link(session, scope=scope, grant_id=grant_id, link_id=link_id, now=now)
    return Response(status_code=204)
