from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from relink.models.base import Base, HasId, HasTimestamps, Id, agency_fk, str_enum


class Role(enum.StrEnum):
    ADMIN = "admin"
    STAFF = "staff"
    # A client's own login: read-only, never told about disconnects.
    CLIENT = "client"


class EmailPreference(enum.StrEnum):
    IMMEDIATELY = "immediately"
    DAILY_DIGEST = "daily_digest"
    OFF = "off"


class User(HasId, HasTimestamps, Base):
    __tablename__ = "user"
    __table_args__ = (
        CheckConstraint(
            "(role = 'client') = (client_id IS NOT NULL)", name="client_user_has_client"
        ),
    )

    agency_id: Mapped[int] = agency_fk()
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(str_enum(Role))
    # Staff: True sees every client, False only those in user_client_access.
    all_clients: Mapped[bool] = mapped_column(default=False)
    client_id: Mapped[int | None] = mapped_column(
        Id, ForeignKey("client.id", ondelete="CASCADE"), index=True
    )
    email_preference: Mapped[EmailPreference] = mapped_column(
        str_enum(EmailPreference), default=EmailPreference.IMMEDIATELY
    )
    is_active: Mapped[bool] = mapped_column(default=True)
    last_login_at: Mapped[datetime | None]


class UserClientAccess(Base):
    """The chosen list of clients of a staff user without access to all."""

    __tablename__ = "user_client_access"

    user_id: Mapped[int] = mapped_column(
        Id, ForeignKey("user.id", ondelete="CASCADE"), primary_key=True
    )
    client_id: Mapped[int] = mapped_column(
        Id, ForeignKey("client.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    agency_id: Mapped[int] = agency_fk()
