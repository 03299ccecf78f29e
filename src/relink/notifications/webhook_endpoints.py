"""The webhooks of ``/api/v1`` (admins): endpoints, their one-time secrets, tests and the log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from relink.dependencies import AdminUser, DbSession, Jobs, Now
from relink.errors import CredentialsUnreadable, InvalidInput
from relink.kit.crypto import SecretBox
from relink.kit.pagination import decode_cursor, encode_cursor
from relink.kit.problems import problem_responses
from relink.kit.row_ids import MAX_ROW_ID, BoundedId
from relink.models import WebhookDelivery, WebhookEndpoint
from relink.notifications import webhook_deliveries, webhooks
from relink.notifications.webhook_events import SUBSCRIBABLE
from relink.notifications.webhook_http import MAX_URL_LENGTH

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])

EndpointId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="The endpoint's id")]
DeliveryId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="The delivery's id")]
Limit = Annotated[int, Query(ge=1, le=100, description="Items per page (1 to 100)")]
Cursor = Annotated[
    str | None,
    Query(max_length=200, description="next_cursor of the previous page; absent: the first"),
]
EventName = Literal[SUBSCRIBABLE]  # type: ignore[valid-type]
Format = Literal["json", "slack", "teams"]
# Every operation is an admin's and may meet a bad parameter.
_ASKED = (401, 403, 422)


class WebhookIn(BaseModel):
    """A new endpoint: where to POST, in which format, which events, for which clients."""

    url: str = Field(min_length=1, max_length=MAX_URL_LENGTH)
    format: Format = Field(
        default="json",
        description="json: the event, signed (Standard Webhooks); slack: a Block Kit message "
        "for an incoming-webhook URL; teams: an Adaptive Card for a Teams Workflows URL",
    )
    events: list[EventName] = Field(
        default_factory=list, max_length=len(SUBSCRIBABLE), description="None: every event"
    )
    client_ids: list[BoundedId] = Field(
        default_factory=list,
        max_length=webhooks.MAX_SCOPED_CLIENTS,
        description="Only events about these clients, naming only them; none: every client",
    )
    description: str | None = Field(default=None, max_length=200)


class WebhookOut(BaseModel):
    id: int
    url: str = Field(description="A Slack or Teams URL is a secret: only its host is shown")
    format: Format
    events: list[str] = Field(description="Empty: every event")
    client_ids: list[int] | None = Field(
        description="Empty: every client; null when the stored settings cannot be decrypted"
    )
    description: str | None
    active: bool
    created_at: datetime
    previous_secret_signs_until: datetime | None = Field(
        description="After a rotation, until when the old secret still signs beside the new"
    )

    @classmethod
    def of(cls, endpoint: WebhookEndpoint, *, box: SecretBox, now: datetime) -> WebhookOut:
        try:
            config = webhooks.endpoint_config(box, endpoint)
            client_ids: list[int] | None = config.client_ids
            until = config.keys.overlap_until(now)
        except CredentialsUnreadable:
            client_ids, until = None, None
        return cls(
            id=endpoint.id,
            url=webhooks.shown_url(endpoint),
            format=endpoint.payload_format,
            events=list(endpoint.events),
            client_ids=client_ids,
            description=endpoint.description,
            active=endpoint.is_active,
            created_at=endpoint.created_at,
            previous_secret_signs_until=until,
        )


class WebhookCreated(WebhookOut):
    secret: str | None = Field(
        description="The whsec_ signing secret, shown only in this answer; null for Slack "
        "and Teams, which are not signed"
    )


class RotatedSecret(BaseModel):
    secret: str = Field(description="The new whsec_ secret, shown only in this answer")
    previous_secret_signs_until: datetime = Field(
        description="Until then every delivery carries a signature by each secret"
    )


class WebhookPage(BaseModel):
    items: list[WebhookOut]
    next_cursor: str | None


class DeliveryOut(BaseModel):
    id: int
    endpoint_id: int
    event: str
    event_id: str = Field(description="Sent as webhook-id; the same on every attempt")
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    created_at: datetime
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None = Field(description="When it is tried next, if pending")
    last_status_code: int | None
    last_error: str | None
    payload: dict[str, Any]

    @classmethod
    def of(cls, delivery: WebhookDelivery) -> DeliveryOut:
        return cls(
            id=delivery.id,
            endpoint_id=delivery.endpoint_id,
            event=delivery.event,
            event_id=delivery.event_id,
            status=delivery.status,
            attempts=delivery.attempts,
            created_at=delivery.created_at,
            last_attempt_at=delivery.last_attempt_at,
            next_attempt_at=delivery.next_attempt_at,
            last_status_code=delivery.last_status_code,
            last_error=delivery.last_error,
            payload=delivery.payload,
        )


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None


def _cursor_id(cursor: str | None) -> int | None:
    """The row id a cursor of ours carries; a clear 422 for any other string."""
    if cursor is None:
        return None
    [row_id] = decode_cursor(cursor, length=1)
    if not isinstance(row_id, int) or not 1 <= row_id <= MAX_ROW_ID:
        raise InvalidInput("the page cursor is malformed: start again from the first page")
    return row_id


@router.get("", operation_id="list_webhooks", responses=problem_responses(*_ASKED))
async def list_webhooks(
    user: AdminUser,
    session: DbSession,
    jobs: Jobs,
    now: Now,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> WebhookPage:
    """The agency's endpoints, oldest first."""
    found = await webhooks.list_endpoints(
        session, agency_id=user.agency_id, after_id=_cursor_id(cursor), limit=limit + 1
    )
    page = found[:limit]
    more = len(found) > limit
    return WebhookPage(
        items=[WebhookOut.of(e, box=jobs.box, now=now) for e in page],
        next_cursor=encode_cursor([page[-1].id]) if more else None,
    )


@router.post(
    "",
    status_code=201,
    operation_id="create_webhook",
    responses=problem_responses(*_ASKED),
)
async def create_webhook(
    body: WebhookIn, user: AdminUser, session: DbSession, jobs: Jobs, now: Now
) -> WebhookCreated:
    """Add an endpoint; its signing secret is in this answer and never shown again."""
    endpoint, secret = await webhooks.create_endpoint(
        session,
        box=jobs.box,
        agency_id=user.agency_id,
        url=body.url,
        events=list(body.events),
        payload_format=body.format,
        description=body.description,
        client_ids=body.client_ids,
    )
    shown = WebhookOut.of(endpoint, box=jobs.box, now=now)
    signed = body.format not in webhooks.CHAT_FORMATS
    return WebhookCreated(**shown.model_dump(), secret=secret if signed else None)


@router.get("/{endpoint_id}", operation_id="get_webhook", responses=problem_responses(*_ASKED, 404))
async def get_webhook(
    endpoint_id: EndpointId, user: AdminUser, session: DbSession, jobs: Jobs, now: Now
) -> WebhookOut:
    endpoint = await webhooks.get_endpoint(
        session, agency_id=user.agency_id, endpoint_id=endpoint_id
    )
    return WebhookOut.of(endpoint, box=jobs.box, now=now)


@router.delete(
    "/{endpoint_id}",
    status_code=204,
    operation_id="delete_webhook",
    responses=problem_responses(*_ASKED, 404),
)
async def delete_webhook(endpoint_id: EndpointId, user: AdminUser, session: DbSession) -> None:
    """Remove the endpoint and its delivery log; events stop at once."""
    await webhooks.delete_endpoint(session, agency_id=user.agency_id, endpoint_id=endpoint_id)


@router.post(
    "/{endpoint_id}/rotate-secret",
    operation_id="rotate_webhook_secret",
    responses=problem_responses(*_ASKED, 404, 409),
)
async def rotate_webhook_secret(
    endpoint_id: EndpointId, user: AdminUser, session: DbSession, jobs: Jobs, now: Now
) -> RotatedSecret:
    """A new secret, shown only in this answer; the old one signs beside it for 24 hours.

    409 for a Slack or Teams endpoint (not signed) or one whose secret cannot be decrypted.
    """
    secret = await webhooks.rotate_secret(
        session, box=jobs.box, agency_id=user.agency_id, endpoint_id=endpoint_id, now=now
    )
    return RotatedSecret(secret=secret, previous_secret_signs_until=now + webhooks.ROTATION_GRACE)


@router.post(
    "/{endpoint_id}/test",
    status_code=202,
    operation_id="send_webhook_test",
    responses=problem_responses(*_ASKED, 404),
)
async def send_webhook_test(
    endpoint_id: EndpointId, user: AdminUser, session: DbSession, now: Now
) -> DeliveryOut:
    """Send a ``webhook.test`` event to this endpoint alone; its outcome is in the log."""
    delivery = await webhooks.send_test(
        session, agency_id=user.agency_id, endpoint_id=endpoint_id, now=now
    )
    return DeliveryOut.of(delivery)


@router.get(
    "/{endpoint_id}/deliveries",
    operation_id="list_webhook_deliveries",
    responses=problem_responses(*_ASKED, 404),
)
async def list_webhook_deliveries(
    endpoint_id: EndpointId,
    user: AdminUser,
    session: DbSession,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> DeliveryPage:
    """The endpoint's delivery log, newest first: each event, its status and last answer."""
    found = await webhook_deliveries.list_deliveries(
        session,
        agency_id=user.agency_id,
        endpoint_id=endpoint_id,
        limit=limit + 1,
        before_id=_cursor_id(cursor),
    )
    page = found[:limit]
    more = len(found) > limit
    return DeliveryPage(
        items=[DeliveryOut.of(d) for d in page],
        next_cursor=encode_cursor([page[-1].id]) if more else None,
    )


@router.post(
    "/{endpoint_id}/deliveries/{delivery_id}/resend",
    status_code=202,
    operation_id="resend_webhook_delivery",
    responses=problem_responses(*_ASKED, 404),
)
async def resend_webhook_delivery(
    endpoint_id: EndpointId, delivery_id: DeliveryId, user: AdminUser, session: DbSession, now: Now
) -> DeliveryOut:
    """Send a delivery again now, with the same webhook-id; a delivered or failed one starts
    over with the whole retry schedule."""
    delivery = await webhook_deliveries.resend_delivery(
        session,
        agency_id=user.agency_id,
        endpoint_id=endpoint_id,
        delivery_id=delivery_id,
        now=now,
    )
    return DeliveryOut.of(delivery)
