from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from relink.models.base import Base, HasId, Id, agency_fk, str_enum, utcnow
from relink.providers.taxonomy import ErrorClass


class Incident(HasId, Base):
    """One continuous failure of a grant or a data source, from first failure to repair."""

    __tablename__ = "incident"
    __table_args__ = (
        # At most one open incident per cause: later failures extend it.
        Index(
            "uq_incident_open_key",
            "agency_id",
            "key",
            unique=True,
            postgresql_where=text("resolved_at IS NULL"),
            sqlite_where=text("resolved_at IS NULL"),
        ),
    )

    agency_id: Mapped[int] = agency_fk()
    # Built by the key builders of incidents/service.py ("grant:<id>:<cause>", ...).
    key: Mapped[str] = mapped_column(String(120))
    grant_id: Mapped[int | None] = mapped_column(
        Id, ForeignKey("grant.id", ondelete="CASCADE"), index=True
    )
    data_source_id: Mapped[int | None] = mapped_column(
        Id, ForeignKey("data_source.id", ondelete="CASCADE"), index=True
    )
    error_class: Mapped[ErrorClass] = mapped_column(str_enum(ErrorClass))
    # What people are told: "reconnect_needed", "upload_failed", "data_delayed",
    # "expires_soon" or "operations_alert" (see notifications/kinds.py).
    kind: Mapped[str] = mapped_column(String(40))
    provider: Mapped[str] = mapped_column(String(64))
    # The provider's own message (scrubbed) and the plain-words hint from the catalog.
    detail: Mapped[str | None] = mapped_column(Text)
    hint: Mapped[str | None] = mapped_column(Text)
    # An "expires soon" incident: the day the provider's documented clock ends the grant.
    expires_on: Mapped[date | None]
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    failure_count: Mapped[int] = mapped_column(default=1)
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(120))
    # How the failure was found ("import", "refresh", "probe", "signal") and the earliest
    # evidence of it (a signal's issue time, a probe's call): opened_at - evidence_at is the
    # time to detection.
    detected_via: Mapped[str | None] = mapped_column(String(20))
    evidence_at: Mapped[datetime | None]


class IncidentDataSource(Base):
    """The data sources an incident touches; its client names come from here."""

    __tablename__ = "incident_data_source"

    incident_id: Mapped[int] = mapped_column(
        Id, ForeignKey("incident.id", ondelete="CASCADE"), primary_key=True
    )
    data_source_id: Mapped[int] = mapped_column(
        Id, ForeignKey("data_source.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    agency_id: Mapped[int] = agency_fk()
