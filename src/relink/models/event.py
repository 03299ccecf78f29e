from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from relink.models.base import Base, HasId, Id, Json, agency_fk, utcnow


class Event(HasId, Base):
    """The event log: who or what changed which status, when, from what to what, and why."""

    __tablename__ = "event"
    __table_args__ = (Index("ix_event_subject", "agency_id", "subject_type", "subject_id", "id"),)

    agency_id: Mapped[int] = agency_fk()
    at: Mapped[datetime] = mapped_column(default=utcnow)
    # "user:<id>", "system:sweep", "system:reconnect", ...
    actor: Mapped[str] = mapped_column(String(80))
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[int] = mapped_column(Id)
    action: Mapped[str] = mapped_column(String(60))
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str | None] = mapped_column(String(24))
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
