"""Settings, API tokens: each person's own tokens for scripts, made here and shown once.

A token acts as the person who made it (their role, their clients), so every signed-in user has
this page, client logins too (whose tokens can only read).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from relink.api_tokens import service as api_tokens
from relink.dependencies import DbSession, Now, PageUser
from relink.errors import InvalidInput
from relink.events.service import user_actor
from relink.kit.row_ids import RowId
from relink.models import Role, TokenScope, User
from relink.web.settings_pages import render_settings

router = APIRouter(prefix="/settings/tokens", include_in_schema=False)

SCOPE_CHOICES = (
    (TokenScope.READ.value, "Read-only", "Lists and reads; any change is refused."),
    (
        TokenScope.WRITE.value,
        "Read and write",
        "Whatever you may do yourself: sync, pause, reconnect, mark read.",
    ),
)
# A page that shows a token's value must not be kept by the browser or anything in between.
NOT_KEPT = {"Cache-Control": "no-store"}


async def _tokens_page(
    request: Request,
    session: AsyncSession,
    user: User,
    now: datetime,
    status_code: int = 200,
    **extra: Any,
) -> Response:
    context = {
        "tokens": await api_tokens.list_tokens(session, user=user),
        "scopes": SCOPE_CHOICES,
        "read_only_user": user.role is Role.CLIENT,
        "now": now,
        "form": {},
        "error": None,
        **extra,
    }
    return render_settings(request, "tokens.html", user, status_code, **context)


@router.get("", response_class=HTMLResponse)
async def tokens_page(
    request: Request, session: DbSession, user: PageUser, now: Now, revoked: bool = False
) -> Response:
    return await _tokens_page(request, session, user, now, revoked=revoked)


@router.post("", response_class=HTMLResponse)
async def create_token(
    request: Request,
    session: DbSession,
    user: PageUser,
    now: Now,
    name: Annotated[str, Form()] = "",
    scope_chosen: Annotated[str, Form(alias="scope")] = TokenScope.READ.value,
    expires_in_days: Annotated[str, Form()] = "",
) -> Response:
    try:
        created = await api_tokens.create_token(
            session,
            user=user,
            name=name,
            scope=api_tokens.parse_scope(scope_chosen),
            expires_at=api_tokens.expiry_after(expiry_days(expires_in_days), now=now),
            actor=user_actor(user),
            now=now,
        )
    except InvalidInput as error:
        form = {"name": name, "scope": scope_chosen, "expires_in_days": expires_in_days}
        return await _tokens_page(request, session, user, now, 422, form=form, error=error.message)
    # The one and only time the value is shown: rendered here, never stored.
    response = render_settings(
        request, "token_created.html", user, token=created.token, value=created.value.text
    )
    response.headers.update(NOT_KEPT)
    return response


@router.post("/{token_id}/revoke")
async def revoke_token(token_id: RowId, session: DbSession, user: PageUser, now: Now) -> Response:
    token = await api_tokens.own_token(session, user=user, token_id=token_id)
    await api_tokens.revoke_token(session, token=token, actor=user_actor(user), now=now)
    return RedirectResponse("/settings/tokens?revoked=1", status_code=303)


def expiry_days(text: str) -> int | None:
    """The form's "expires in days": empty for never, else a whole number."""
    cleaned = text.strip()
    if not cleaned:
        return None
    if not cleaned.isdigit() or len(cleaned) > 5:
        raise InvalidInput(
            f"the expiry is a whole number of days from 1 to {api_tokens.MAX_EXPIRY_DAYS}, "
            "or empty for no expiry"
        )
    return int(cleaned)
