"""What the API says about grants and their reconnects."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field


class AuthorizeOut(BaseModel):
    authorize_url: str


class DataSourceBrief(BaseModel):
    id: int
    client_name: str
    external_account_name: str
    status: str
    reason: str | None
    complete_through: date | None


class BackfillOut(BaseModel):
    data_source_id: int
    client_name: str
    gap_start: date
    days_done: int
    days_total: int


class GrantOut(BaseModel):
    id: int
    provider: str
    provider_name: str
    identity: str | None
    status: str
    reason: str | None
    data_sources: list[DataSourceBrief]
    backfills: list[BackfillOut]


class LinkIn(BaseModel):
    # A link lasts 1 to 30 days (grants/links.py refuses other lengths with the reason).
    days: int = Field(default=7, ge=1, le=30)
    note: str | None = Field(default=None, max_length=500)


class LinkOut(BaseModel):
    url: str
    expires_at: datetime
