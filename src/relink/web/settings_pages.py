"""Settings: my e-mail preference; for admins, webhooks, users and the e-mail outbox."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from relink.auth.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from relink.errors import InvalidInput, NotFound
from relink.kit.row_ids import BoundedId, CursorQuery, RowId
from relink.models import Role, User
from relink.models.base import utcnow
from relink.notifications import outbox_view, webhooks
from relink.users import preferences
from relink.users.service import create_user
from relink.web.deps import DbSession, Jobs, OptionalUser
from relink.web.pages import login_redirect
from relink.web.templating import templates

router = APIRouter(prefix="/settings", include_in_schema=False)

EMAIL_CHOICES = (
    ("immediately", "Immediately",
     "One e-mail as soon as a data source needs attention. Several problems found together "
     "arrive in one message."),
    ("daily_digest", "Daily digest",
     "One e-mail a day listing everything that needed attention in the last 24 hours."),
    ("off", "Off",
     "No e-mail. You still see every notification under the bell and in Notifications."),
)  # fmt: skip
EVENT_LABELS = {
    "data_source.disconnected": "A data source disconnected and needs a person",
    "data_source.reconnected": "A data source works again",
    "import.failed": "An import failed for a reason a retry will not fix",
    "grant.expires_soon": "A provider warned that a sign-in will expire",
}
STATUS_LABELS = {"pending": "Retrying", "delivered": "Delivered", "failed": "Failed"}
OUTBOX_PAGE_SIZE = 50


def _render(
    request: Request, name: str, user: User, status_code: int = 200, **context: Any
) -> Response:
    context = {"user": user, "is_admin": user.role is Role.ADMIN, **context}
    return templates.TemplateResponse(request, f"settings/{name}", context, status_code=status_code)


def admin_or_404(user: User) -> None:
    """Settings pages only admins have do not exist for others (no leak, no tease)."""
    if user.role is not Role.ADMIN:
        raise NotFound("page")


@router.get("")
async def settings_home() -> RedirectResponse:
    return RedirectResponse("/settings/notifications", status_code=303)


# --- My notifications ---------------------------------------------------------------------


@router.get("/notifications", response_class=HTMLResponse)
async def notifications_page(request: Request, user: OptionalUser, saved: bool = False) -> Response:
    if user is None:
        return login_redirect(request)
    return _render(request, "notifications.html", user, choices=EMAIL_CHOICES, saved=saved)


@router.post("/notifications")
async def save_notifications(
    request: Request, session: DbSession, user: OptionalUser,
    email_preference: Annotated[str, Form()],
) -> Response:  # fmt: skip
    if user is None:
        return login_redirect(request)
    await preferences.set_email_preference(session, user=user, preference=email_preference)
    return RedirectResponse("/settings/notifications?saved=1", status_code=303)


# --- Webhooks ------------------------------------------------------------------------------


async def _webhooks_page(
    request: Request, session: AsyncSession, user: User, status_code: int = 200, **extra: Any
) -> Response:
    endpoints = await webhooks.list_endpoints(session, agency_id=user.agency_id)
    context = {"endpoints": endpoints, "events": EVENT_LABELS, "form": {}, "error": None, **extra}
    return _render(request, "webhooks.html", user, status_code, **context)


@router.get("/webhooks", response_class=HTMLResponse)
async def webhooks_page(
    request: Request, session: DbSession, user: OptionalUser, deleted: bool = False
) -> Response:
    if user is None:
        return login_redirect(request)
    admin_or_404(user)
    return await _webhooks_page(request, session, user, deleted=deleted)


@router.post("/webhooks", response_class=HTMLResponse)
async def add_webhook(
    request: Request, session: DbSession, user: OptionalUser, jobs: Jobs,
    url: Annotated[str, Form()] = "",
    payload_format: Annotated[str, Form()] = "json",
    events: Annotated[list[str] | None, Form()] = None,
) -> Response:  # fmt: skip
    if user is None:
        return login_redirect(request)
    admin_or_404(user)
    chosen = events or []
    try:
        endpoint, secret = await webhooks.create_endpoint(
            session, box=jobs.box, agency_id=user.agency_id, url=url, events=chosen,
            payload_format=payload_format,
        )  # fmt: skip
    except InvalidInput as error:
        form = {"url": url, "payload_format": payload_format, "events": chosen}
        return await _webhooks_page(request, session, user, 422, form=form, error=error.message)
    # The one and only time the secret is shown: rendered here, never stored in plain text.
    return _render(request, "webhook_secret.html", user, endpoint=endpoint, secret=secret,
                   rotated=False)  # fmt: skip


@router.get("/webhooks/verify", response_class=HTMLResponse)
async def webhook_verify_page(request: Request, user: OptionalUser) -> Response:
    if user is None:
        return login_redirect(request)
    admin_or_404(user)
    return _render(request, "webhook_verify.html", user)


@router.get("/webhooks/{endpoint_id}", response_class=HTMLResponse)
async def webhook_log_page(
    endpoint_id: RowId, request: Request, session: DbSession, user: OptionalUser,
    before: CursorQuery = None,
) -> Response:  # fmt: skip
    if user is None:
        return login_redirect(request)
    admin_or_404(user)
    endpoint = await webhooks.get_endpoint(
        session, agency_id=user.agency_id, endpoint_id=endpoint_id
    )
    deliveries = await webhooks.list_deliveries(
        session, agency_id=user.agency_id, endpoint_id=endpoint_id, limit=OUTBOX_PAGE_SIZE,
        before_id=before,
    )  # fmt: skip
    older = deliveries[-1].id if len(deliveries) == OUTBOX_PAGE_SIZE else None
    return _render(request, "webhook.html", user, endpoint=endpoint, deliveries=deliveries,
                   statuses=STATUS_LABELS, events=EVENT_LABELS, older=older)  # fmt: skip


@router.post("/webhooks/{endpoint_id}/rotate", response_class=HTMLResponse)
async def rotate_webhook_secret(
    endpoint_id: RowId, request: Request, session: DbSession, user: OptionalUser, jobs: Jobs
) -> Response:
    if user is None:
        return login_redirect(request)
    admin_or_404(user)
    secret = await webhooks.rotate_secret(
        session, box=jobs.box, agency_id=user.agency_id, endpoint_id=endpoint_id, now=utcnow()
    )
    endpoint = await webhooks.get_endpoint(
        session, agency_id=user.agency_id, endpoint_id=endpoint_id
    )
    grace_hours = int(webhooks.ROTATION_GRACE.total_seconds() // 3600)
    return _render(request, "webhook_secret.html", user, endpoint=endpoint, secret=secret,
                   rotated=True, grace_hours=grace_hours)  # fmt: skip


@router.post("/webhooks/{endpoint_id}/delete")
async def delete_webhook(
    endpoint_id: RowId, request: Request, session: DbSession, user: OptionalUser
) -> Response:
    if user is None:
        return login_redirect(request)
    admin_or_404(user)
    await webhooks.delete_endpoint(session, agency_id=user.agency_id, endpoint_id=endpoint_id)
    return RedirectResponse("/settings/webhooks?deleted=1", status_code=303)


# --- Users ---------------------------------------------------------------------------------


async def _users_page(
    request: Request, session: AsyncSession, user: User, status_code: int = 200, **extra: Any
) -> Response:
    context = {
        "people": await preferences.list_users(session, agency_id=user.agency_id),
        "clients": await preferences.visible_clients(session, user=user),
        "form": {"role": "staff", "access": "all", "client_ids": []},
        "error": None,
        "min_password": MIN_PASSWORD_LENGTH,
        **extra,
    }
    return _render(request, "users.html", user, status_code, **context)


@router.get("/users", response_class=HTMLResponse)
async def users_page(
    request: Request, session: DbSession, user: OptionalUser,
    created: str | None = None, saved: CursorQuery = None,
) -> Response:  # fmt: skip
    if user is None:
        return login_redirect(request)
    admin_or_404(user)
    return await _users_page(request, session, user, created=created, saved=saved)


@router.post("/users", response_class=HTMLResponse)
async def add_user(
    request: Request, session: DbSession, user: OptionalUser,
    email: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    password: Annotated[str, Form(max_length=MAX_PASSWORD_LENGTH)] = "",
    role: Annotated[str, Form()] = "staff",
    access: Annotated[str, Form()] = "all",
    client_ids: Annotated[list[BoundedId] | None, Form()] = None,
    client_id: Annotated[str, Form()] = "",
) -> Response:  # fmt: skip
    if user is None:
        return login_redirect(request)
    admin_or_404(user)
    chosen = client_ids or []
    try:
        parsed_role = preferences.parse_role(role)
        if parsed_role is Role.STAFF and access == "chosen":
            # Checked first, so create_user refuses (if at all) before it writes anything.
            await preferences.ensure_clients(session, agency_id=user.agency_id, client_ids=chosen)
        created = await create_user(
            session, agency_id=user.agency_id, email=email, name=name, password=password,
            role=parsed_role, all_clients=access == "all", client_ids=chosen,
            client_id=int(client_id) if parsed_role is Role.CLIENT and client_id else None,
        )  # fmt: skip
    except InvalidInput as error:
        form = {"email": email, "name": name, "role": role, "access": access,
                "client_ids": chosen, "client_id": client_id}  # fmt: skip
        return await _users_page(request, session, user, 422, form=form, error=error.message)
    return RedirectResponse(f"/settings/users?created={created.email}", status_code=303)


@router.get("/users/{user_id}", response_class=HTMLResponse)
async def user_page(
    user_id: RowId, request: Request, session: DbSession, user: OptionalUser
) -> Response:
    if user is None:
        return login_redirect(request)
    admin_or_404(user)
    person = await preferences.get_agency_user(session, agency_id=user.agency_id, user_id=user_id)
    chosen = await preferences.chosen_client_ids(session, user=person)
    access = "all" if person.all_clients else "chosen"
    clients = await preferences.visible_clients(session, user=user)
    return _render(request, "user.html", user, person=person, chosen=chosen, access=access,
                   error=None, clients=clients)  # fmt: skip


@router.post("/users/{user_id}/access", response_class=HTMLResponse)
async def save_user_access(
    user_id: RowId, request: Request, session: DbSession, user: OptionalUser,
    access: Annotated[str, Form()] = "all",
    client_ids: Annotated[list[BoundedId] | None, Form()] = None,
) -> Response:  # fmt: skip
    if user is None:
        return login_redirect(request)
    admin_or_404(user)
    person = await preferences.get_agency_user(session, agency_id=user.agency_id, user_id=user_id)
    try:
        await preferences.set_staff_access(
            session, user=person, all_clients=access == "all", client_ids=client_ids or []
        )
    except InvalidInput as error:
        return _render(request, "user.html", user, 422, person=person, error=error.message,
                       chosen=set(client_ids or []), access=access,
                       clients=await preferences.visible_clients(session, user=user))  # fmt: skip
    return RedirectResponse(f"/settings/users?saved={person.id}", status_code=303)


# --- E-mail outbox -------------------------------------------------------------------------


@router.get("/outbox", response_class=HTMLResponse)
async def outbox_page(
    request: Request, session: DbSession, user: OptionalUser, jobs: Jobs, before: CursorQuery = None
) -> Response:
    if user is None:
        return login_redirect(request)
    admin_or_404(user)
    messages = await outbox_view.list_outbox(
        session, agency_id=user.agency_id, limit=OUTBOX_PAGE_SIZE, before_id=before
    )
    older = messages[-1].id if len(messages) == OUTBOX_PAGE_SIZE else None
    smtp = jobs.settings.smtp_url is not None
    return _render(request, "outbox.html", user, messages=messages, smtp=smtp, older=older)


@router.get("/outbox/{message_id}", response_class=HTMLResponse)
async def outbox_message_page(
    message_id: RowId, request: Request, session: DbSession, user: OptionalUser, jobs: Jobs
) -> Response:
    if user is None:
        return login_redirect(request)
    admin_or_404(user)
    message = await outbox_view.get_message(
        session, agency_id=user.agency_id, message_id=message_id
    )
    smtp = jobs.settings.smtp_url is not None
    return _render(request, "outbox_message.html", user, message=message, smtp=smtp)
