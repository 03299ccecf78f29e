"""What ``/api/v1/data-sources/{id}/sync-runs`` says about one import of a data source."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from relink.models import SyncOutcome, SyncRun, SyncTrigger
from relink.providers.taxonomy import ErrorClass


class SyncRunOut(BaseModel):
    """One import of a data source for a date range."""

    id: int = Field(description="The run's id (later runs have larger ids)")
    data_source_id: int = Field(description="The data source imported")
    trigger: SyncTrigger = Field(
        description="What started it: schedule, manual (a person) or backfill (after a repair)"
    )
    date_from: date = Field(description="The first day asked for")
    date_to: date = Field(description="The last day asked for")
    started_at: datetime = Field(description="When it started")
    finished_at: datetime | None = Field(description="When it ended; null while running")
    outcome: SyncOutcome = Field(description="running, ok or failed")
    error_class: ErrorClass | None = Field(description="For a failed run: what the answer meant")
    error_detail: str | None = Field(description="For a failed run: the provider's message")
    days_imported: int = Field(description="Days of data it wrote")

    @classmethod
    def of(cls, run: SyncRun) -> SyncRunOut:
        return cls(
            id=run.id,
            data_source_id=run.data_source_id,
            trigger=run.trigger,
            date_from=run.date_from,
            date_to=run.date_to,
            started_at=run.started_at,
            finished_at=run.finished_at,
            outcome=run.outcome,
            error_class=run.error_class,
            error_detail=run.error_detail,
            days_imported=run.days_imported,
        )


class SyncRunPage(BaseModel):
    """A page of a data source's sync runs, newest first."""

    items: list[SyncRunOut] = Field(description="The runs of this page")
    next_cursor: str | None = Field(
        description="Pass as cursor for the next page; null on the last page"
    )
