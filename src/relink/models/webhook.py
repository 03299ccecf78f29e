from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from relink.models.base import Base, HasId, HasTimestamps, Id, Json, agency_fk, utcnow


class WebhookEndpoint(HasId, HasTimestamps, Base):
    """Where an agency wants events POSTed, signed with its own secret."""

    __tablename__ = "webhook_endpoint"

    agency_id: Mapped[int] = agency_fk()
    url: Mapped[str] = mapped_column(String(2000))
    # MultiFernet token of {"secret": ...}: shown once at creation, never again.
    secret: Mapped[str] = mapped_column(Text)
    # Event names it subscribes to; empty means all.
    events: Mapped[list[str]] = mapped_column(Json, default=list)
    # "json" (signed Relink payload) or "slack" (an incoming-webhook message).
    payload_format: Mapped[str] = mapped_column(String(16), default="json")
    is_active: Mapped[bool] = mapped_column(default=True)
    description: Mapped[str | None] = mapped_column(String(200))


class WebhookDelivery(HasId, Base):
    """One event to one endpoint, with every attempt's outcome: the delivery log."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        Index("ix_webhook_delivery_due", "status", "next_attempt_at"),
        Index("ix_webhook_delivery_endpoint", "endpoint_id", "id"),
    )

    agency_id: Mapped[int] = agency_fk()
    endpoint_id: Mapped[int] = mapped_column(
        Id, ForeignKey("webhook_endpoint.id", ondelete="CASCADE")
    )
    event: Mapped[str] = mapped_column(String(60))
    # A stable id receivers use to drop duplicates (retries resend the same id).
    event_id: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(Json)
    # "pending", "delivered", "failed" (gave up after the last retry).
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=utcnow)
    last_attempt_at: Mapped[datetime | None]
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
