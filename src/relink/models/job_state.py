"""A job someone asked for and may follow: queued, running, done or failed."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from relink.models.base import Base, agency_fk, str_enum, utcnow


class JobStateName(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class JobState(Base):
    """One request for a job (an admin's "sweep now"), readable by its agency until forgotten.

    The row is the request, not the message that carries it: any run of the job that starts
    after the request was queued takes it, so one run answers every request waiting for it.
    """

    __tablename__ = "job_state"
    __table_args__ = (Index("ix_job_state_name_state", "name", "state"),)

    # Chosen when queued (not by the database), so the answer can name it before the commit.
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    agency_id: Mapped[int] = agency_fk()
    name: Mapped[str] = mapped_column(String(64))
    state: Mapped[JobStateName] = mapped_column(str_enum(JobStateName))
    queued_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    # The run that took it (a token per run): only that run's end may finish it.
    taken_by: Mapped[str | None] = mapped_column(String(32))
    finished_at: Mapped[datetime | None] = mapped_column(index=True)
    # The exception's class name when failed; never its message (it may quote a provider).
    error: Mapped[str | None] = mapped_column(String(200))
