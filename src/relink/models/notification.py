from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from relink.models.base import Base, HasId, HasTimestamps, Id, Json, agency_fk


class Notification(HasId, HasTimestamps, Base):
    """One user's inbox item for one incident."""

    __tablename__ = "notification"
    __table_args__ = (
        UniqueConstraint("user_id", "incident_id"),
        # The bell: unread count and newest first, per user.
        Index("ix_notification_user_read_created", "user_id", "read_at", "created_at"),
        Index("ix_notification_email_due", "emailed_at", "email_due_at"),
        # The unread count reads only this small index (the read ones are not in it).
        Index(
            "ix_notification_user_unread",
            "user_id",
            postgresql_where=text("read_at IS NULL"),
            sqlite_where=text("read_at IS NULL"),
        ),
    )

    agency_id: Mapped[int] = agency_fk()
    user_id: Mapped[int] = mapped_column(Id, ForeignKey("user.id", ondelete="CASCADE"))
    incident_id: Mapped[int | None] = mapped_column(
        Id, ForeignKey("incident.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(40))
    # The kind's own fields (provider, client names, reason, action), validated by its model.
    payload: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    read_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    # E-mail: due after the burst window (or at the digest hour), sent at most once.
    email_due_at: Mapped[datetime | None]
    emailed_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
