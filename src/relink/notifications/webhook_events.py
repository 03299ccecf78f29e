"""Every webhook event Relink sends, as the payload models receivers can rely on.

The models are the contract: ``webhook_docs`` declares one operation per event so the OpenAPI
document lists them under ``webhooks`` (``app.webhooks.include_router(webhook_docs)``), and the
tests check that what ``emit`` writes validates against them. docs/webhooks.md tells the same
in prose; change the three together.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from relink.providers.taxonomy import ErrorClass

TEST_EVENT = "webhook.test"

# event: (what it means, the operationId of its entry in the OpenAPI document)
EVENT_TYPES: dict[str, tuple[str, str]] = {
    "data_source.disconnected": (
        "A data source stopped importing and needs a person: reconnect, or fix its key",
        "dataSourceDisconnected",
    ),
    "data_source.reconnected": (
        "A data source works again, after a reconnect or a repaired key",
        "dataSourceReconnected",
    ),
    "import.failed": (
        "An import failed for a reason a retry will not fix (the provider's data was malformed)",
        "importFailed",
    ),
    "grant.expires_soon": (
        "A provider warned that a sign-in will expire: reconnect before it does",
        "grantExpiresSoon",
    ),
    "data_source.backfill_requested": (
        "A data source your platform imports (imports: external) was repaired: import its "
        "missed days, first_day to last_day, and confirm them (POST "
        "/api/v1/data-sources/{id}/imports)",
        "dataSourceBackfillRequested",
    ),
}
# What an endpoint may subscribe to; the test event goes only where an admin sends it.
SUBSCRIBABLE = tuple(EVENT_TYPES)


class DataSourceEventData(BaseModel):
    """What happened to one data source; one event per data source, however many broke."""

    # Receivers must ignore fields they do not know: fields may be added, never removed.
    model_config = ConfigDict(extra="allow")

    data_source_id: int = Field(description="The data source's id in Relink")
    client_id: int = Field(description="The client it belongs to")
    client_name: str = Field(description="The client's name, as the agency wrote it")
    provider: str = Field(description="The provider's key in Relink's catalog", examples=["ga4"])
    provider_name: str = Field(description="The provider's name to show", examples=["GA4"])
    external_account_id: str = Field(description="The account's id at the provider")
    external_account_name: str | None = Field(description="The account's name at the provider")
    grant_id: int = Field(description="The sign-in (grant) the data source imports through")
    error_class: ErrorClass | None = Field(
        description="Why, in Relink's error taxonomy; null for data_source.reconnected"
    )
    reason: str = Field(description="The error class in plain words; empty when none")
    hint: str = Field(description="What the provider said, or what to do; may be empty")
    action_url: str = Field(
        description="The page that repairs it: the grant's Reconnect, or the key's form"
    )


class BackfillRequestedData(DataSourceEventData):
    """The days an external data source is missing after a repair, for the platform's
    importers; the confirmations of those days close the backfill."""

    first_day: date = Field(description="The first missing day (in the account's time zone)")
    last_day: date = Field(description="The last day to import (the last complete one)")


class TestEventData(BaseModel):
    """A test an admin sent to one endpoint; no data source is concerned."""

    model_config = ConfigDict(extra="allow")

    endpoint_id: int = Field(description="The endpoint the test was sent to")
    provider_name: str = Field(description="Always 'Relink'", examples=["Relink"])
    reason: str = Field(description="Says that this is a test")
    action_url: str = Field(description="The endpoint's delivery log in Relink")


class _Envelope(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str = Field(
        description="The event's id, also sent as webhook-id: the same on every retry, so "
        "a receiver drops the repeats it has handled"
    )
    timestamp: datetime = Field(description="When the event happened (Standard Webhooks)")
    created: datetime = Field(description="The same as timestamp, kept for older receivers")


class DataSourceDisconnected(_Envelope):
    type: Literal["data_source.disconnected"]
    data: DataSourceEventData


class DataSourceReconnected(_Envelope):
    type: Literal["data_source.reconnected"]
    data: DataSourceEventData


class ImportFailed(_Envelope):
    type: Literal["import.failed"]
    data: DataSourceEventData


class GrantExpiresSoon(_Envelope):
    type: Literal["grant.expires_soon"]
    data: DataSourceEventData


class DataSourceBackfillRequested(_Envelope):
    type: Literal["data_source.backfill_requested"]
    data: BackfillRequestedData


class WebhookTest(_Envelope):
    type: Literal["webhook.test"]
    data: TestEventData


PAYLOADS: dict[str, type[_Envelope]] = {
    "data_source.disconnected": DataSourceDisconnected,
    "data_source.reconnected": DataSourceReconnected,
    "import.failed": ImportFailed,
    "grant.expires_soon": GrantExpiresSoon,
    "data_source.backfill_requested": DataSourceBackfillRequested,
    TEST_EVENT: WebhookTest,
}

# Any 2xx acknowledges; 204 stands for them all (FastAPI declares the route's own status).
_RECEIVED: dict[int | str, dict[str, str]] = {
    204: {"description": "Received: any 2xx, within 15 seconds"},
    "default": {
        "description": "Anything else, a redirect, a timeout or a lost connection: retried "
        "after 1 min, 5 min, 30 min, 2 h and 6 h, then marked failed in the delivery log"
    },
}
_SIGNED = (
    " Sent as POST with the Standard Webhooks headers webhook-id, webhook-timestamp and "
    "webhook-signature (v1,<base64 HMAC-SHA256>); see docs/webhooks.md to verify them."
)

webhook_docs = APIRouter(tags=["webhook events"])
"""The OpenAPI ``webhooks`` section: one entry per event (its routes are never served)."""


@webhook_docs.post(
    "data_source.disconnected",
    operation_id=EVENT_TYPES["data_source.disconnected"][1],
    summary=EVENT_TYPES["data_source.disconnected"][0],
    description=EVENT_TYPES["data_source.disconnected"][0] + "." + _SIGNED,
    responses=_RECEIVED,
    status_code=204,
)
def data_source_disconnected(body: DataSourceDisconnected) -> None:
    """Declared only: Relink sends this event, it never answers it."""


@webhook_docs.post(
    "data_source.reconnected",
    operation_id=EVENT_TYPES["data_source.reconnected"][1],
    summary=EVENT_TYPES["data_source.reconnected"][0],
    description=EVENT_TYPES["data_source.reconnected"][0] + "." + _SIGNED,
    responses=_RECEIVED,
    status_code=204,
)
def data_source_reconnected(body: DataSourceReconnected) -> None:
    """Declared only: Relink sends this event, it never answers it."""


@webhook_docs.post(
    "import.failed",
    operation_id=EVENT_TYPES["import.failed"][1],
    summary=EVENT_TYPES["import.failed"][0],
    description=EVENT_TYPES["import.failed"][0] + "." + _SIGNED,
    responses=_RECEIVED,
    status_code=204,
)
def import_failed(body: ImportFailed) -> None:
    """Declared only: Relink sends this event, it never answers it."""


@webhook_docs.post(
    "grant.expires_soon",
    operation_id=EVENT_TYPES["grant.expires_soon"][1],
    summary=EVENT_TYPES["grant.expires_soon"][0],
    description=EVENT_TYPES["grant.expires_soon"][0] + "." + _SIGNED,
    responses=_RECEIVED,
    status_code=204,
)
def grant_expires_soon(body: GrantExpiresSoon) -> None:
    """Declared only: Relink sends this event, it never answers it."""


@webhook_docs.post(
    "data_source.backfill_requested",
    operation_id=EVENT_TYPES["data_source.backfill_requested"][1],
    summary=EVENT_TYPES["data_source.backfill_requested"][0],
    description=EVENT_TYPES["data_source.backfill_requested"][0] + "." + _SIGNED,
    responses=_RECEIVED,
    status_code=204,
)
def data_source_backfill_requested(body: DataSourceBackfillRequested) -> None:
    """Declared only: Relink sends this event, it never answers it."""


@webhook_docs.post(
    TEST_EVENT,
    operation_id="webhookTest",
    summary="A test an admin sent to this endpoint (POST /api/v1/webhooks/{id}/test)",
    description="Sent only to the endpoint it was asked for, whatever it subscribes to." + _SIGNED,
    responses=_RECEIVED,
    status_code=204,
)
def webhook_test(body: WebhookTest) -> None:
    """Declared only: Relink sends this event, it never answers it."""
