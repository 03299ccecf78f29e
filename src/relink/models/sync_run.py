from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from relink.models.base import Base, HasId, Id, agency_fk, str_enum, utcnow
from relink.providers.taxonomy import ErrorClass


class SyncOutcome(enum.StrEnum):
    RUNNING = "running"
    OK = "ok"
    FAILED = "failed"


class SyncTrigger(enum.StrEnum):
    """What started an import."""

    # The sweep found it due.
    SCHEDULE = "schedule"
    # A person asked ("Sync now", "Try again").
    MANUAL = "manual"
    # A repair (reconnect, new key, new link) left days to import again.
    BACKFILL = "backfill"


class SyncRun(HasId, Base):
    """One import of a data source for a date range.

    A running run is held by its worker (``owner``) under a lease the import renews while it
    works; a run whose lease ran out lost its worker and is closed as failed by the next sweep.
    """

    __tablename__ = "sync_run"
    __table_args__ = (
        Index("ix_sync_run_data_source_started", "data_source_id", "started_at"),
        # The sweep looks for running runs whose lease ran out: few rows in a large table.
        Index(
            "ix_sync_run_running_lease",
            "lease_expires_at",
            postgresql_where=text("outcome = 'running'"),
            sqlite_where=text("outcome = 'running'"),
        ),
    )

    agency_id: Mapped[int] = agency_fk()
    data_source_id: Mapped[int] = mapped_column(
        Id, ForeignKey("data_source.id", ondelete="CASCADE")
    )
    trigger: Mapped[SyncTrigger] = mapped_column(str_enum(SyncTrigger))
    date_from: Mapped[date]
    date_to: Mapped[date]
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    outcome: Mapped[SyncOutcome] = mapped_column(str_enum(SyncOutcome), default=SyncOutcome.RUNNING)
    error_class: Mapped[ErrorClass | None] = mapped_column(str_enum(ErrorClass))
    error_detail: Mapped[str | None] = mapped_column(Text)
    days_imported: Mapped[int] = mapped_column(default=0)
    # The worker running it (host:pid:nonce), and until when it vouches for it.
    owner: Mapped[str | None] = mapped_column(String(120))
    lease_expires_at: Mapped[datetime | None]
