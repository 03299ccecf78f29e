"""What the API says about grants and their reconnects."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field


class AuthorizeOut(BaseModel):
    # The provider's consent page, bound to the browser session that asked: only a caller
    # signed in with a cookie gets one (no browser holds an API token's session, so a consent
    # page started for a token could never be finished: None).
    authorize_url: str | None = Field(
        description="The provider's consent page for this browser session (None for a token)"
    )
    # Where a signed-in person of the agency finishes the reconnect in their own browser:
    # what a script hands to the person whose login it is.
    reconnect_url: str = Field(description="Relink's Reconnect page of this grant")


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
    id: int = Field(
        description="The link's id, as list_reconnect_links and revoke_reconnect_link name it"
    )
    url: str
    expires_at: datetime
