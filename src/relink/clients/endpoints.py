"""``/api/v1/clients``: the clients the caller may see, as the clients pages show them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from relink.auth.access import is_staff_or_admin
from relink.clients import listing
from relink.clients.health import health_of
from relink.clients.schemas import ClientOut, ClientPage
from relink.clients.service import get_client as visible_client
from relink.dependencies import DbSession, Scope
from relink.kit.api_pages import DEFAULT_LIMIT, Cursor, Limit, name_id_after, page_of
from relink.kit.problems import problem_responses
from relink.kit.row_ids import RowId

router = APIRouter(prefix="/api/v1/clients", tags=["clients"])


@router.get("", operation_id="list_clients", responses=problem_responses(401, 422, 503))
async def list_clients(
    scope: Scope,
    session: DbSession,
    q: Annotated[
        str | None, Query(max_length=200, description="Only clients whose name contains this")
    ] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> ClientPage:
    """The clients the caller may see, by name, with how current their data is: admins and
    all-clients staff every client, other staff their chosen ones, a client login its own."""
    rows = await listing.list_clients(
        session, scope=scope, q=q, limit=limit, after=name_id_after(cursor)
    )
    shown, next_cursor = page_of(rows, limit=limit, key=lambda row: [row[1], row[0]])
    staff = is_staff_or_admin(scope.user)
    items = [
        ClientOut.of(health, with_statuses=staff)
        for health in await health_of(session, clients=shown)
    ]
    return ClientPage(items=items, next_cursor=next_cursor)


@router.get(
    "/{client_id}", operation_id="get_client", responses=problem_responses(401, 404, 422, 503)
)
async def get_client(client_id: RowId, scope: Scope, session: DbSession) -> ClientOut:
    """One client the caller may see; any other id is not found."""
    client = await visible_client(session, user=scope.user, client_id=client_id)
    (health,) = await health_of(session, clients=[(client.id, client.name)])
    return ClientOut.of(health, with_statuses=is_staff_or_admin(scope.user))
