"""Sign-in pages and the notification page that e-mail links lead to."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from relink.auth.endpoints import sign_in_user, sign_out_user
from relink.auth.passwords import MAX_EMAIL_LENGTH, MAX_PASSWORD_LENGTH
from relink.demo import DEMO_PASSWORD, demo_logins_to_show
from relink.kit.row_ids import RowId
from relink.models.base import utcnow
from relink.notifications import kinds
from relink.notifications import service as inbox
from relink.web.deps import DbSession, OptionalUser
from relink.web.templating import templates

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    """Only same-site paths: an open redirect would let a link send people anywhere."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target)}", status_code=303)


@router.get("/")
async def home(user: OptionalUser) -> RedirectResponse:
    return RedirectResponse("/data-sources" if user else "/login", status_code=303)


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, session: DbSession, next: str = "/") -> Response:
    context = {
        "user": None,
        "next": _safe_next(next),
        "error": None,
        "demo_logins": await demo_logins_to_show(session),
        "demo_password": DEMO_PASSWORD,
    }
    return templates.TemplateResponse(request, "login.html", context)


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    session: DbSession,
    email: Annotated[str, Form(max_length=MAX_EMAIL_LENGTH)],
    password: Annotated[str, Form(max_length=MAX_PASSWORD_LENGTH)],
    next: Annotated[str, Form()] = "/",
) -> Response:
    user = await sign_in_user(request, session, email=email, password=password)
    if user is None:
        context = {
            "user": None,
            "next": _safe_next(next),
            "email": email,
            "error": "That e-mail and password do not match an account.",
            "demo_logins": await demo_logins_to_show(session),
            "demo_password": DEMO_PASSWORD,
        }
        return templates.TemplateResponse(request, "login.html", context, status_code=401)
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout")
async def logout(request: Request, session: DbSession) -> RedirectResponse:
    await sign_out_user(request, session)
    return RedirectResponse("/login", status_code=303)


@router.get("/notifications/{notification_id}", response_class=HTMLResponse)
async def notification_page(
    notification_id: RowId, request: Request, session: DbSession, user: OptionalUser
) -> Response:
    """Where an e-mail's link leads: a signed-in page with the button (opening spends nothing)."""
    if user is None:
        return login_redirect(request)
    notification = await inbox.get_notification(session, user=user, notification_id=notification_id)
    context = {
        "user": user,
        "note": kinds.parse(notification.payload),
        "notification_id": notification.id,
        "created_at": notification.created_at,
        "resolved": notification.resolved_at is not None,
    }
    return templates.TemplateResponse(request, "notification.html", context)


@router.post("/notifications/{notification_id}/act")
async def act(
    notification_id: RowId, request: Request, session: DbSession, user: OptionalUser
) -> Response:
    """The button: mark read, then go to the fix."""
    if user is None:
        return login_redirect(request)
    path = await inbox.take_action(
        session, user=user, notification_id=notification_id, now=utcnow()
    )
    return RedirectResponse(path, status_code=303)
