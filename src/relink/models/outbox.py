from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from relink.models.base import Base, HasId, Id, agency_fk, utcnow


class OutboxEmail(HasId, Base):
    """An e-mail Relink wrote: sent over SMTP when configured, kept here either way."""

    __tablename__ = "outbox_email"
    __table_args__ = (Index("ix_outbox_email_unsent", "sent_at", "next_attempt_at"),)

    agency_id: Mapped[int] = agency_fk()
    user_id: Mapped[int | None] = mapped_column(
        Id, ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    to_address: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text)
    # "single", "digest", "reminder", "escalation".
    kind: Mapped[str] = mapped_column(String(24))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
