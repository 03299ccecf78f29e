from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from relink.models.base import Base, HasId, Id, agency_fk, utcnow


class OAuthState(HasId, Base):
    """One authorization round trip: single-use, short-lived, bound to a session and a grant."""

    __tablename__ = "oauth_state"

    agency_id: Mapped[int] = agency_fk()
    # Only a hash: a leaked database row cannot be replayed as a callback.
    state_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Hash of a nonce kept in the starting browser's session cookie.
    session_binding_hash: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int | None] = mapped_column(Id, ForeignKey("user.id", ondelete="CASCADE"))
    grant_id: Mapped[int | None] = mapped_column(Id, ForeignKey("grant.id", ondelete="CASCADE"))
    reconnect_link_id: Mapped[int | None] = mapped_column(
        Id, ForeignKey("reconnect_link.id", ondelete="CASCADE")
    )
    provider: Mapped[str] = mapped_column(String(64))
    # "reconnect", "connect" or "client_link".
    purpose: Mapped[str] = mapped_column(String(16))
    # Sealed PKCE verifier.
    code_verifier: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    # Sealed tokens and identity of a login that did not match the grant: waiting for a choice.
    pending: Mapped[str | None] = mapped_column(Text)


class ReconnectLink(HasId, Base):
    """An admin's link that lets a client's own person re-authorize one grant."""

    __tablename__ = "reconnect_link"

    agency_id: Mapped[int] = agency_fk()
    grant_id: Mapped[int] = mapped_column(Id, ForeignKey("grant.id", ondelete="CASCADE"))
    created_by: Mapped[int | None] = mapped_column(Id, ForeignKey("user.id", ondelete="SET NULL"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Only this external identity may complete it.
    pinned_identity: Mapped[str] = mapped_column(String(320))
    note: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
