from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from relink.models.base import Base, HasId, HasTimestamps, Json, agency_fk, str_enum
from relink.providers.taxonomy import AuthKind, ErrorClass
from relink.status import GrantStatus


class Grant(HasId, HasTimestamps, Base):
    """One set of credentials for one external identity at one provider."""

    __tablename__ = "grant"
    __table_args__ = (
        # OAuth grants are shared and unique per identity; API-key and basic grants are
        # each owned by one data source, so the rule holds for OAuth only.
        Index(
            "uq_grant_oauth_identity",
            "agency_id",
            "provider",
            "external_identity",
            unique=True,
            postgresql_where=text("auth_kind = 'oauth2'"),
            sqlite_where=text("auth_kind = 'oauth2'"),
        ),
        Index("ix_grant_status_next_refresh", "status", "next_refresh_at"),
        Index("ix_grant_status_next_probe", "status", "next_probe_at"),
    )

    agency_id: Mapped[int] = agency_fk()
    provider: Mapped[str] = mapped_column(String(64))
    auth_kind: Mapped[AuthKind] = mapped_column(str_enum(AuthKind))
    # The provider's stable id of the login (a Google subject, a Business Manager id).
    external_identity: Mapped[str | None] = mapped_column(String(320))
    identity_name: Mapped[str | None] = mapped_column(String(320))
    # MultiFernet token of a JSON object: never plaintext, never logged.
    credentials: Mapped[str] = mapped_column(Text)
    # Counts every new set of credentials (refresh, reconnect): a caller whose access token was
    # refused forces a refresh only while the token it used is still this generation's.
    token_generation: Mapped[int] = mapped_column(default=0, server_default="0")
    scopes: Mapped[list[str]] = mapped_column(Json, default=list)
    access_expires_at: Mapped[datetime | None]
    # When the provider has told us the refresh token itself will lapse.
    refresh_expires_at: Mapped[datetime | None]
    next_refresh_at: Mapped[datetime | None]
    last_refreshed_at: Mapped[datetime | None]
    status: Mapped[GrantStatus] = mapped_column(str_enum(GrantStatus), default=GrantStatus.ACTIVE)
    status_reason: Mapped[ErrorClass | None] = mapped_column(str_enum(ErrorClass))
    status_detail: Mapped[str | None] = mapped_column(Text)
    # Set when the credentials fail to decrypt: fail closed, flag, never crash.
    credentials_unreadable_at: Mapped[datetime | None]
    extra: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    # The refresh lease: one refresh per grant at a time across every process.
    refresh_lock_owner: Mapped[str | None] = mapped_column(String(64))
    refresh_lock_expires_at: Mapped[datetime | None]
    # Consecutive refreshes that failed for a transient reason (the old token is kept).
    refresh_failures: Mapped[int] = mapped_column(default=0)
    # When a refresh last lost its answer (the provider may have rotated the token in it);
    # cleared by the next good refresh. A refusal after it is explained as a lost answer.
    refresh_answer_lost_at: Mapped[datetime | None]
    # The cheap health probe (signals/probe.py): when this grant is next looked at, and when
    # it last was (the per-provider budget counts the calls of the last minute).
    next_probe_at: Mapped[datetime | None]
    last_probed_at: Mapped[datetime | None]
