from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from relink.models.base import Base, HasId, Id, agency_fk, utcnow


class UserSession(HasId, Base):
    """One signed-in browser or script: the cookie carries a random token, the row its hash.

    Checked on every request, so signing out, a password change or a deactivation ends it at
    once, wherever a copy of the cookie went.
    """

    __tablename__ = "user_session"

    agency_id: Mapped[int] = agency_fk()
    user_id: Mapped[int] = mapped_column(Id, ForeignKey("user.id", ondelete="CASCADE"), index=True)
    # Only a hash: a leaked database row cannot be replayed as a cookie.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    # What a person needs to recognise a session in a list of their own ones.
    user_agent: Mapped[str | None] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(64))
