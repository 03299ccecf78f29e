"""Sign-in pages and the notification page that e-mail links lead to."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from relink.auth import sign_in
from relink.auth.access import scope_of
from relink.auth.device_cookie import presented, remember_device
from relink.auth.passwords import MAX_EMAIL_LENGTH, MAX_PASSWORD_LENGTH
from relink.demo import DEMO_PASSWORD, demo_logins_to_show
from relink.dependencies import (
    ClientAddress,
    DbSession,
    Jobs,
    Now,
    OptionalUser,
    PageUser,
    Throttle,
    forget_sign_in,
    remember_sign_in,
    session_token,
)
from relink.incidents.affected import affected_clients
from relink.kit.row_ids import RowId
from relink.notifications import kinds
from relink.notifications import service as inbox
from relink.web.templating import templates

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    """Only same-site paths: an open redirect would let a link send people anywhere."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


async def _login_form(
    request: Request,
    session: AsyncSession,
    *,
    next: str,
    email: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    context = {
        "user": None,
        "next": _safe_next(next),
        "error": error,
        "demo_logins": await demo_logins_to_show(session),
        "demo_password": DEMO_PASSWORD,
    }
    if email is not None:
        context["email"] = email
    return templates.TemplateResponse(request, "login.html", context, status_code=status_code)


@router.get("/")
async def home(user: OptionalUser) -> RedirectResponse:
    return RedirectResponse("/data-sources" if user else "/login", status_code=303)


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, session: DbSession, next: str = "/") -> Response:
    return await _login_form(request, session, next=next)


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    session: DbSession,
    throttle: Throttle,
    jobs: Jobs,
    address: ClientAddress,
    now: Now,
    email: Annotated[str, Form(max_length=MAX_EMAIL_LENGTH)],
    password: Annotated[str, Form(max_length=MAX_PASSWORD_LENGTH)],
    next: Annotated[str, Form()] = "/",
) -> Response:
    signed_in = await sign_in.sign_in(
        session,
        throttle=throttle,
        email=email,
        password=password,
        address=address,
        user_agent=request.headers.get("user-agent"),
        device_cookie=presented(request),
        now=now,
    )
    if signed_in is None:
        return await _login_form(
            request,
            session,
            next=next,
            email=email,
            error="That e-mail and password do not match an account.",
            status_code=401,
        )
    remember_sign_in(request, signed_in.token)
    answer = RedirectResponse(_safe_next(next), status_code=303)
    remember_device(answer, signed_in.device_cookie, secure=jobs.settings.https)
    return answer


@router.post("/logout")
async def logout(request: Request, session: DbSession, now: Now) -> RedirectResponse:
    await sign_in.sign_out(session, token=session_token(request), now=now)
    forget_sign_in(request)
    return RedirectResponse("/login", status_code=303)


@router.get("/notifications/{notification_id}", response_class=HTMLResponse)
async def notification_page(
    notification_id: RowId,
    request: Request,
    session: DbSession,
    user: PageUser,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    """Where an e-mail's link leads: a signed-in page with the button (opening spends nothing)
    and every client the incident touches that the reader may see, a page at a time."""
    notification = await inbox.get_notification(session, user=user, notification_id=notification_id)
    affected = None
    if notification.incident_id is not None:
        affected = await affected_clients(
            session, incident_id=notification.incident_id, scope=scope_of(user), page=page
        )
    context = {
        "affected": affected,
        "user": user,
        "note": kinds.parse(notification.payload),
        "notification_id": notification.id,
        "created_at": notification.created_at,
        "resolved": notification.resolved_at is not None,
    }
    return templates.TemplateResponse(request, "notification.html", context)


@router.post("/notifications/{notification_id}/act")
async def act(notification_id: RowId, session: DbSession, user: PageUser, now: Now) -> Response:
    """The button: mark read, then go to the fix."""
    path = await inbox.take_action(session, user=user, notification_id=notification_id, now=now)
    return RedirectResponse(path, status_code=303)
