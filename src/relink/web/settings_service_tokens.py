"""Settings, Service tokens (admins): the agency's tokens for a platform's own importers,
created here and shown once, rotated without downtime, revoked (docs/importers.md)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from relink.api_tokens import service as api_tokens
from relink.api_tokens import service_tokens
from relink.api_tokens.permissions import Permission, parse_permissions
from relink.api_tokens.service import Created
from relink.dependencies import AdminPageUser, DbSession, Now
from relink.errors import InvalidInput
from relink.events.service import user_actor
from relink.kit.row_ids import RowId
from relink.models import User
from relink.web.settings_pages import render_settings
from relink.web.settings_tokens import NOT_KEPT, expiry_days

router = APIRouter(prefix="/settings/service-tokens", include_in_schema=False)

# How long a rotated token keeps working beside its successor, as the page says it.
OVERLAP_HOURS = int(service_tokens.DEFAULT_OVERLAP / timedelta(hours=1))

PERMISSION_CHOICES = (
    (Permission.READ.value, "Read", "The list of data sources to import, and the days each wants."),
    (Permission.CREDENTIALS_READ.value, "Credentials", "Fresh access tokens and keys, on request."),
    (Permission.FAILURES_WRITE.value, "Failure reports", "What the provider answered a call."),
    (Permission.IMPORTS_WRITE.value, "Confirmed days", "The days the importer imported."),
)


async def _page(
    request: Request,
    session: AsyncSession,
    user: User,
    now: datetime,
    status_code: int = 200,
    **extra: Any,
) -> Response:
    context = {
        "tokens": await service_tokens.list_service_tokens(session, agency_id=user.agency_id),
        "permissions": PERMISSION_CHOICES,
        "overlap_hours": OVERLAP_HOURS,
        "now": now,
        "form": {},
        "error": None,
        **extra,
    }
    return render_settings(request, "service_tokens.html", user, status_code, **context)


def _shown_once(request: Request, user: User, created: Created, *, rotated: bool) -> Response:
    # The one and only time the value is shown: rendered here, never stored.
    response = render_settings(
        request,
        "service_token_created.html",
        user,
        token=created.token,
        value=created.value.text,
        rotated=rotated,
        overlap_hours=OVERLAP_HOURS,
    )
    response.headers.update(NOT_KEPT)
    return response


@router.get("", response_class=HTMLResponse)
async def service_tokens_page(
    request: Request, session: DbSession, user: AdminPageUser, now: Now, revoked: bool = False
) -> Response:
    return await _page(request, session, user, now, revoked=revoked)


@router.post("", response_class=HTMLResponse)
async def create(
    request: Request,
    session: DbSession,
    user: AdminPageUser,
    now: Now,
    name: Annotated[str, Form()] = "",
    permission: Annotated[list[str] | None, Form()] = None,
    expires_in_days: Annotated[str, Form()] = "",
) -> Response:
    try:
        created = await service_tokens.create_service_token(
            session,
            agency_id=user.agency_id,
            name=name,
            permissions=parse_permissions(permission or []),
            expires_at=api_tokens.expiry_after(expiry_days(expires_in_days), now=now),
            actor=user_actor(user),
            now=now,
        )
    except InvalidInput as error:
        form = {"name": name, "permission": permission or [], "expires_in_days": expires_in_days}
        return await _page(request, session, user, now, 422, form=form, error=error.message)
    return _shown_once(request, user, created, rotated=False)


@router.post("/{token_id}/rotate", response_class=HTMLResponse)
async def rotate(
    request: Request,
    token_id: RowId,
    session: DbSession,
    user: AdminPageUser,
    now: Now,
) -> Response:
    token = await service_tokens.agency_service_token(
        session, agency_id=user.agency_id, token_id=token_id
    )
    try:
        created = await service_tokens.rotate_service_token(
            session,
            token=token,
            overlap=service_tokens.DEFAULT_OVERLAP,
            actor=user_actor(user),
            now=now,
        )
    except InvalidInput as error:
        return await _page(request, session, user, now, 422, error=error.message)
    return _shown_once(request, user, created, rotated=True)


@router.post("/{token_id}/revoke")
async def revoke(token_id: RowId, session: DbSession, user: AdminPageUser, now: Now) -> Response:
    token = await service_tokens.agency_service_token(
        session, agency_id=user.agency_id, token_id=token_id
    )
    await api_tokens.revoke_token(session, token=token, actor=user_actor(user), now=now)
    return RedirectResponse("/settings/service-tokens?revoked=1", status_code=303)
