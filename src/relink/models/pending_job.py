"""A queued job whose loss would lose work: kept as a row until it has run."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from relink.models.base import Base, Json, utcnow


class PendingJob(Base):
    """One durable job: written in the transaction that queues it, deleted once it has run.

    Whatever carries the job (the embedded runner, Celery) may lose it in a crash; the row does
    not, and the periodic resume runs every row whose ``due_at`` has passed.
    """

    __tablename__ = "pending_job"
    __table_args__ = (Index("ix_pending_job_due_at", "due_at"),)

    # Chosen when queued (not by the database), so the dispatcher can name it after the commit.
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    kwargs: Mapped[dict[str, Any]] = mapped_column(Json)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Nobody takes it before this time: the dispatched copy's head start, a runner's lease, or
    # the wait before a retry.
    due_at: Mapped[datetime]
    # Runs started (by the dispatched copy or the resume); 0 while only the dispatcher has it.
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(200))
