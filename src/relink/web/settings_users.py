"""Settings, Users (admins): the agency's people, their roles and which clients they see."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from relink.auth.access import scope_of
from relink.auth.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from relink.dependencies import AdminPageUser, DbSession, Now
from relink.errors import InvalidInput
from relink.kit.row_ids import BoundedId, CursorQuery, RowId
from relink.models import Role, User
from relink.users import preferences
from relink.users.service import create_user
from relink.web.pickers import client_picker
from relink.web.settings_pages import render_settings

router = APIRouter(prefix="/settings/users", include_in_schema=False)


async def _users_page(
    request: Request, session: AsyncSession, user: User, status_code: int = 200, **extra: Any
) -> Response:
    context = {
        "people": await preferences.list_users(session, agency_id=user.agency_id),
        "clients": await client_picker(session, scope_of(user)),
        "form": {"role": "staff", "access": "all", "client_ids": []},
        "error": None,
        "min_password": MIN_PASSWORD_LENGTH,
        **extra,
    }
    return render_settings(request, "users.html", user, status_code, **context)


@router.get("", response_class=HTMLResponse)
async def users_page(
    request: Request,
    session: DbSession,
    user: AdminPageUser,
    created: str | None = None,
    saved: CursorQuery = None,
) -> Response:
    return await _users_page(request, session, user, created=created, saved=saved)


@router.post("", response_class=HTMLResponse)
async def add_user(
    request: Request,
    session: DbSession,
    user: AdminPageUser,
    now: Now,
    email: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    password: Annotated[str, Form(max_length=MAX_PASSWORD_LENGTH)] = "",
    role: Annotated[str, Form()] = "staff",
    access: Annotated[str, Form()] = "all",
    client_ids: Annotated[list[BoundedId] | None, Form()] = None,
    client_id: Annotated[str, Form()] = "",
) -> Response:
    chosen = client_ids or []
    try:
        parsed_role = preferences.parse_role(role)
        if parsed_role is Role.STAFF and access == "chosen":
            # Checked first, so create_user refuses (if at all) before it writes anything.
            await preferences.ensure_clients(session, agency_id=user.agency_id, client_ids=chosen)
        created = await create_user(
            session,
            agency_id=user.agency_id,
            email=email,
            name=name,
            password=password,
            role=parsed_role,
            all_clients=access == "all",
            client_ids=chosen,
            client_id=int(client_id) if parsed_role is Role.CLIENT and client_id else None,
            now=now,
        )
    except InvalidInput as error:
        form = {
            "email": email,
            "name": name,
            "role": role,
            "access": access,
            "client_ids": chosen,
            "client_id": client_id,
        }
        return await _users_page(request, session, user, 422, form=form, error=error.message)
    return RedirectResponse(f"/settings/users?created={created.email}", status_code=303)


@router.get("/{user_id}", response_class=HTMLResponse)
async def user_page(
    user_id: RowId, request: Request, session: DbSession, user: AdminPageUser
) -> Response:
    person = await preferences.get_agency_user(session, agency_id=user.agency_id, user_id=user_id)
    chosen = await preferences.chosen_client_ids(session, user=person)
    return render_settings(
        request,
        "user.html",
        user,
        person=person,
        chosen=chosen,
        access="all" if person.all_clients else "chosen",
        error=None,
        clients=await client_picker(session, scope_of(user)),
    )


@router.post("/{user_id}/access", response_class=HTMLResponse)
async def save_user_access(
    user_id: RowId,
    request: Request,
    session: DbSession,
    user: AdminPageUser,
    now: Now,
    access: Annotated[str, Form()] = "all",
    client_ids: Annotated[list[BoundedId] | None, Form()] = None,
) -> Response:
    person = await preferences.get_agency_user(session, agency_id=user.agency_id, user_id=user_id)
    try:
        await preferences.set_staff_access(
            session, user=person, all_clients=access == "all", client_ids=client_ids or [], now=now
        )
    except InvalidInput as error:
        return render_settings(
            request,
            "user.html",
            user,
            422,
            person=person,
            error=error.message,
            chosen=set(client_ids or []),
            access=access,
            clients=await client_picker(session, scope_of(user)),
        )
    return RedirectResponse(f"/settings/users?saved={person.id}", status_code=303)
