"""What the importer endpoints take and answer."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from relink.importers.confirmations import Confirmed
from relink.importers.credentials import Handed
from relink.importers.failure_reports import Action, Advice
from relink.importers.work_list import Wanted
from relink.providers.taxonomy import AuthKind, ErrorClass, ImportMode
from relink.status import DataSourceStatus

# A provider's error answer is small; a body past this is not one an importer should send.
MAX_BODY_CHARS = 65_536
MAX_HEADERS = 50
MAX_HEADER_CHARS = 2_000
MAX_URL_CHARS = 2_000


class CredentialsOut(BaseModel):
    """What to call the provider with, now. Keep it in memory only; ask again when it ends."""

    data_source_id: int
    provider: str = Field(description="The provider's key in Relink's catalog")
    auth_kind: AuthKind
    account_id: str = Field(description="The account's id at the provider")
    api_base: str | None = Field(description="The provider's data API, scheme and host")
    headers: dict[str, str] = Field(
        description="The headers to send on each call (the Authorization one included)"
    )
    query: dict[str, str] = Field(description="Query parameters to add (a key sent so)")
    access_token: str | None = Field(description="The OAuth access token; null for a key")
    api_key: str | None = Field(description="The API key; null for OAuth")
    expires_at: datetime | None = Field(
        description="When the access token ends; ask again before then (null: not stated)"
    )
    token_generation: int = Field(
        description="Which credentials these are: send it back with a failure report"
    )

    @classmethod
    def of(cls, handed: Handed) -> CredentialsOut:
        return cls(**asdict(handed))


class CallMade(BaseModel):
    model_config = ConfigDict(extra="forbid")

    method: str = Field(default="GET", pattern=r"^[A-Za-z]{3,7}$")
    url: str = Field(max_length=MAX_URL_CHARS, description="The URL called (query kept names only)")


class FailureIn(BaseModel):
    """What the provider answered one of the importer's calls."""

    model_config = ConfigDict(extra="forbid")

    status: int | None = Field(
        ge=100, le=599, description="The HTTP status; null when no answer came (a timeout)"
    )
    headers: dict[str, str] = Field(
        default_factory=dict,
        description="The answer's headers (Retry-After and WWW-Authenticate matter; others "
        "are ignored)",
    )
    body: str = Field(default="", max_length=MAX_BODY_CHARS, description="The answer's body")
    call: CallMade
    token_generation: int | None = Field(
        default=None,
        ge=0,
        le=2**31 - 1,
        description="The credentials' token_generation the call was made with",
    )

    @model_validator(mode="after")
    def _bounded_headers(self) -> FailureIn:
        if len(self.headers) > MAX_HEADERS:
            raise ValueError(f"send at most {MAX_HEADERS} headers (the ones that matter)")
        for name, value in self.headers.items():
            if len(name) > 200 or len(value) > MAX_HEADER_CHARS:
                raise ValueError(f"header {name[:40]!r} is longer than {MAX_HEADER_CHARS}")
        return self


class AdviceOut(BaseModel):
    """What the importer should do now."""

    action: Action = Field(
        description="retry_later: wait retry_after_seconds; retry_now: call again with the "
        "credentials here; stop: stop until a person reconnects (reconnect_url)"
    )
    error_class: ErrorClass = Field(description="What the provider's answer meant")
    hint: str = Field(description="In plain words")
    retry_after_seconds: float | None
    reconnect_url: str | None
    data_source_status: DataSourceStatus | None
    credentials: CredentialsOut | None = Field(description="With retry_now only")
    replayed: bool = Field(description="True when this key was reported before: its answer")

    @classmethod
    def of(cls, advice: Advice) -> AdviceOut:
        return cls(
            action=advice.action,
            error_class=advice.error_class,
            hint=advice.hint,
            retry_after_seconds=advice.retry_after_seconds,
            reconnect_url=advice.reconnect_url,
            data_source_status=advice.data_source_status,
            credentials=CredentialsOut.of(advice.credentials) if advice.credentials else None,
            replayed=advice.replayed,
        )


class ImportsIn(BaseModel):
    """Days imported: a range (``first`` to ``last``) or everything through ``last``."""

    model_config = ConfigDict(extra="forbid")

    first: date | None = Field(default=None, description="The range's first day; omit for all")
    last: date = Field(description="The last day imported")


class ImportsOut(BaseModel):
    data_source_id: int
    complete_through: date | None = Field(description="Every day through this one is in")
    backfill_until: date | None = Field(description="The day an open backfill must reach")
    backfill_closed: bool = Field(description="True when these days closed the backfill")

    @classmethod
    def of(cls, confirmed: Confirmed) -> ImportsOut:
        return cls(**asdict(confirmed))


class ImportModeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    imports: ImportMode | None = Field(
        description="relink, external, or null to follow the provider's catalog entry"
    )


class ImportModeOut(BaseModel):
    data_source_id: int
    imports: ImportMode = Field(description="Who imports its days now")
    own_setting: ImportMode | None = Field(description="Its own setting; null: the provider's")


class WantedOut(BaseModel):
    """One external data source and the days to import now."""

    data_source_id: int
    client_id: int
    client_name: str
    provider: str = Field(description="The provider's key in Relink's catalog")
    account_id: str = Field(description="The account's id at the provider")
    status: DataSourceStatus
    complete_through: date | None = Field(description="Every day through this one is in")
    first_day: date | None = Field(description="The first day to import; null: none now")
    last_day: date | None = Field(description="The last day to import; null: none now")
    backfill_open: bool = Field(description="A repair left a gap these days fill")

    @classmethod
    def of(cls, wanted: Wanted) -> WantedOut:
        return cls(**asdict(wanted))


class WantedPage(BaseModel):
    items: list[WantedOut]
    next_cursor: str | None = Field(description="Pass as cursor for the next page; null: last")
