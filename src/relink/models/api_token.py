from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from relink.models.base import Base, HasId, Id, agency_fk, str_enum, utcnow


class TokenKind(enum.StrEnum):
    # A person's token: acts as its user, with the user's role and client access.
    PERSONAL = "personal"
    # The agency's, for another system (a reporting platform's importers): no user, and only
    # the permissions it was given (api_tokens/permissions.py).
    SERVICE = "service"


class TokenScope(enum.StrEnum):
    # GET, HEAD and OPTIONS only.
    READ = "read"
    # Whatever its user may do.
    WRITE = "write"


class ApiToken(HasId, Base):
    """One API token: the public ``lookup`` finds the row, only a digest of the secret is kept.

    The value a script sends is ``rlk_<lookup>_<secret>`` (api_tokens/values.py); it is shown
    once at creation and never stored, so a leaked row cannot be replayed as a token.
    """

    __tablename__ = "api_token"
    __table_args__ = (
        # A personal token always has its user; a service token is the agency's, with none.
        CheckConstraint(
            "(kind = 'personal') = (user_id IS NOT NULL)", name="personal_token_has_user"
        ),
    )

    agency_id: Mapped[int] = agency_fk()
    kind: Mapped[TokenKind] = mapped_column(str_enum(TokenKind), default=TokenKind.PERSONAL)
    user_id: Mapped[int | None] = mapped_column(
        Id, ForeignKey("user.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    scope: Mapped[TokenScope] = mapped_column(str_enum(TokenScope))
    # The token's public part: which row to check, in one indexed read.
    lookup: Mapped[str] = mapped_column(String(16), unique=True)
    # SHA-256 of the secret part, hex.
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The event log's actor who made it ("user:<id>", "cli").
    created_by: Mapped[str] = mapped_column(String(80))
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    # Written at most once a minute per token (api_tokens/service.py, USE_WRITE_INTERVAL).
    last_used_at: Mapped[datetime | None]
    last_used_address: Mapped[str | None] = mapped_column(String(64))
    # A service token's permissions, space-separated (``credentials:read failures:write``);
    # None on a personal token, whose ``scope`` and user decide.
    permissions: Mapped[str | None] = mapped_column(String(200))
