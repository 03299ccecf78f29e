"""``/api/v1/users``: the agency's people and their access, for admins (the Users settings)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy.ext.asyncio import AsyncSession

from relink.dependencies import AdminUser, DbSession, Now, admin_user
from relink.kit.api_pages import DEFAULT_LIMIT, Cursor, Limit, name_id_after, page_of
from relink.kit.problems import problem_responses
from relink.kit.row_ids import RowId
from relink.models import Role, User
from relink.users import access_changes, listing
from relink.users.listing import UserFilters
from relink.users.preferences import get_agency_user
from relink.users.schemas import AccessIn, UserOut, UserPage

router = APIRouter(prefix="/api/v1/users", tags=["users"], dependencies=[Depends(admin_user)])


async def _out(session: AsyncSession, *, admin: User, user: User) -> UserOut:
    clients = await listing.clients_of(session, agency_id=admin.agency_id, users=[user])
    return UserOut.of(user, clients=clients.get(user.id, []))


@router.get("", operation_id="list_users", responses=problem_responses(401, 403, 422, 503))
async def list_users(
    admin: AdminUser,
    session: DbSession,
    role: Annotated[Role | None, Query(description="Only users of this role")] = None,
    active: Annotated[
        bool | None, Query(description="Only active (true) or deactivated (false) users")
    ] = None,
    q: Annotated[
        str | None, Query(max_length=200, description="Only names or e-mails containing this")
    ] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> UserPage:
    """The agency's users by name, with their role and the clients each may see (admins)."""
    rows = await listing.list_users(
        session,
        agency_id=admin.agency_id,
        filters=UserFilters(role=role, active=active, q=q),
        limit=limit,
        after=name_id_after(cursor),
    )
    shown, next_cursor = page_of(rows, limit=limit, key=lambda u: [u.name, u.id])
    clients = await listing.clients_of(session, agency_id=admin.agency_id, users=shown)
    return UserPage(
        items=[UserOut.of(u, clients=clients.get(u.id, [])) for u in shown],
        next_cursor=next_cursor,
    )


@router.get(
    "/{user_id}", operation_id="get_user", responses=problem_responses(401, 403, 404, 422, 503)
)
async def get_user(user_id: RowId, admin: AdminUser, session: DbSession) -> UserOut:
    """One of the agency's users (admins); another agency's user is not found."""
    person = await get_agency_user(session, agency_id=admin.agency_id, user_id=user_id)
    return await _out(session, admin=admin, user=person)


@router.put(
    "/{user_id}/access",
    operation_id="update_user_access",
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def update_user_access(
    user_id: RowId, body: AccessIn, admin: AdminUser, session: DbSession, now: Now
) -> UserOut:
    """Move a user between admin and staff, or choose a staff user's clients: every client,
    or a list (told at once of what is already broken for them)."""
    person = await access_changes.change_access(
        session,
        admin=admin,
        user_id=user_id,
        role=Role(body.role) if body.role else None,
        all_clients=body.all_clients,
        client_ids=body.client_ids,
        now=now,
    )
    return await _out(session, admin=admin, user=person)


@router.post(
    "/{user_id}/deactivate",
    operation_id="deactivate_user",
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def deactivate_user(
    user_id: RowId, admin: AdminUser, session: DbSession, now: Now
) -> UserOut:
    """The user can no longer sign in; their sessions and tokens stop working now."""
    person = await access_changes.deactivate(session, admin=admin, user_id=user_id, now=now)
    return await _out(session, admin=admin, user=person)
