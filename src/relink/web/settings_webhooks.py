"""Settings, Webhooks (admins): endpoints, their one-time secrets, and each one's delivery log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from relink.clients.health import client_choices
from relink.dependencies import AdminPageUser, DbSession, Jobs, Now
from relink.errors import CredentialsUnreadable, InvalidInput
from relink.kit.row_ids import BoundedId, CursorQuery, RowId
from relink.models import User, WebhookEndpoint
from relink.notifications import webhook_deliveries, webhooks
from relink.web.settings_pages import render_settings

router = APIRouter(prefix="/settings/webhooks", include_in_schema=False)

EVENT_LABELS = {
    "data_source.disconnected": "A data source disconnected and needs a person",
    "data_source.reconnected": "A data source works again",
    "import.failed": "An import failed for a reason a retry will not fix",
    "grant.expires_soon": "A provider warned that a sign-in will expire",
}
STATUS_LABELS = {"pending": "Retrying", "delivered": "Delivered", "failed": "Failed"}
DELIVERIES_PAGE_SIZE = 50


async def _webhooks_page(
    request: Request, session: AsyncSession, user: User, status_code: int = 200, **extra: Any
) -> Response:
    endpoints = await webhooks.list_endpoints(session, agency_id=user.agency_id)
    context = {
        "endpoints": endpoints,
        "events": EVENT_LABELS,
        "clients": await client_choices(session, user=user),
        "form": {},
        "error": None,
        **extra,
    }
    return render_settings(request, "webhooks.html", user, status_code, **context)


def _scope_names(jobs: Jobs, endpoint: WebhookEndpoint, names: dict[int, str]) -> list[str] | None:
    """The names of the clients the endpoint is for; None for every client."""
    try:
        config = webhooks.endpoint_config(jobs.box, endpoint)
    except CredentialsUnreadable:
        return None
    return [names.get(c, f"client {c}") for c in config.client_ids] or None


@router.get("", response_class=HTMLResponse)
async def webhooks_page(
    request: Request, session: DbSession, user: AdminPageUser, deleted: bool = False
) -> Response:
    return await _webhooks_page(request, session, user, deleted=deleted)


@router.post("", response_class=HTMLResponse)
async def add_webhook(
    request: Request,
    session: DbSession,
    user: AdminPageUser,
    jobs: Jobs,
    url: Annotated[str, Form()] = "",
    payload_format: Annotated[str, Form()] = "json",
    events: Annotated[list[str] | None, Form()] = None,
    client_ids: Annotated[list[BoundedId] | None, Form()] = None,
) -> Response:
    chosen = events or []
    scope = client_ids or []
    try:
        endpoint, secret = await webhooks.create_endpoint(
            session,
            box=jobs.box,
            agency_id=user.agency_id,
            url=url,
            events=chosen,
            payload_format=payload_format,
            client_ids=scope,
        )
    except InvalidInput as error:
        form = {"url": url, "payload_format": payload_format, "events": chosen, "clients": scope}
        return await _webhooks_page(request, session, user, 422, form=form, error=error.message)
    # The one and only time the secret is shown: rendered here, never stored in plain text.
    return render_settings(
        request,
        "webhook_secret.html",
        user,
        endpoint=endpoint,
        secret=secret,
        rotated=False,
    )


@router.get("/verify", response_class=HTMLResponse)
async def webhook_verify_page(request: Request, user: AdminPageUser) -> Response:
    return render_settings(request, "webhook_verify.html", user)


@router.get("/{endpoint_id}", response_class=HTMLResponse)
async def webhook_log_page(
    endpoint_id: RowId,
    request: Request,
    session: DbSession,
    user: AdminPageUser,
    jobs: Jobs,
    before: CursorQuery = None,
    sent: bool = False,
) -> Response:
    endpoint = await webhooks.get_endpoint(
        session, agency_id=user.agency_id, endpoint_id=endpoint_id
    )
    deliveries = await webhook_deliveries.list_deliveries(
        session,
        agency_id=user.agency_id,
        endpoint_id=endpoint_id,
        limit=DELIVERIES_PAGE_SIZE,
        before_id=before,
    )
    older = deliveries[-1].id if len(deliveries) == DELIVERIES_PAGE_SIZE else None
    return render_settings(
        request,
        "webhook.html",
        user,
        endpoint=endpoint,
        scope=_scope_names(jobs, endpoint, dict(await client_choices(session, user=user))),
        deliveries=deliveries,
        statuses=STATUS_LABELS,
        events=EVENT_LABELS,
        older=older,
        sent=sent,
    )


@router.post("/{endpoint_id}/rotate", response_class=HTMLResponse)
async def rotate_webhook_secret(
    endpoint_id: RowId,
    request: Request,
    session: DbSession,
    user: AdminPageUser,
    jobs: Jobs,
    now: Now,
) -> Response:
    secret = await webhooks.rotate_secret(
        session, box=jobs.box, agency_id=user.agency_id, endpoint_id=endpoint_id, now=now
    )
    endpoint = await webhooks.get_endpoint(
        session, agency_id=user.agency_id, endpoint_id=endpoint_id
    )
    grace_hours = int(webhooks.ROTATION_GRACE.total_seconds() // 3600)
    return render_settings(
        request,
        "webhook_secret.html",
        user,
        endpoint=endpoint,
        secret=secret,
        rotated=True,
        grace_hours=grace_hours,
    )


@router.post("/{endpoint_id}/test")
async def send_test_event(
    endpoint_id: RowId, session: DbSession, user: AdminPageUser, now: Now
) -> Response:
    await webhooks.send_test(session, agency_id=user.agency_id, endpoint_id=endpoint_id, now=now)
    return RedirectResponse(f"/settings/webhooks/{endpoint_id}?sent=1", status_code=303)


@router.post("/{endpoint_id}/deliveries/{delivery_id}/resend")
async def resend_delivery(
    endpoint_id: RowId, delivery_id: RowId, session: DbSession, user: AdminPageUser, now: Now
) -> Response:
    await webhook_deliveries.resend_delivery(
        session,
        agency_id=user.agency_id,
        endpoint_id=endpoint_id,
        delivery_id=delivery_id,
        now=now,
    )
    return RedirectResponse(f"/settings/webhooks/{endpoint_id}?sent=1", status_code=303)


@router.post("/{endpoint_id}/delete")
async def delete_webhook(endpoint_id: RowId, session: DbSession, user: AdminPageUser) -> Response:
    await webhooks.delete_endpoint(session, agency_id=user.agency_id, endpoint_id=endpoint_id)
    return RedirectResponse("/settings/webhooks?deleted=1", status_code=303)
