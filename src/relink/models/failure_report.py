from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from relink.models.base import Base, HasId, Id, Json, agency_fk, utcnow


class FailureReport(HasId, Base):
    """A provider answer an outside importer met and reported, as stored: redacted and cut to
    size before it is written (importers/failure_reports.py), with the answer Relink gave.

    The importer's idempotency key makes a retried report return the first answer instead of
    running the failure path twice.
    """

    __tablename__ = "failure_report"
    __table_args__ = (
        UniqueConstraint("data_source_id", "idempotency_key", name="uq_failure_report_key"),
    )

    agency_id: Mapped[int] = agency_fk()
    data_source_id: Mapped[int] = mapped_column(
        Id, ForeignKey("data_source.id", ondelete="CASCADE")
    )
    idempotency_key: Mapped[str] = mapped_column(String(200))
    reported_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The event log's actor ("api_token:<id>", "user:<id>").
    reported_by: Mapped[str] = mapped_column(String(80))
    # What the provider answered: its status (None: no answer), the call, a redacted excerpt.
    status: Mapped[int | None] = mapped_column(SmallInteger)
    call: Mapped[str] = mapped_column(String(300))
    body_excerpt: Mapped[str] = mapped_column(Text, default="")
    error_class: Mapped[str] = mapped_column(String(40))
    # What the importer was told (the endpoint's answer, without any token).
    advice: Mapped[dict[str, Any]] = mapped_column(Json)
