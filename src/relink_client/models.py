"""The importer API's answers, as Relink's OpenAPI document declares them (checked by a test:
same fields, same required ones). Unknown fields are ignored: Relink may add some."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict


class _Answer(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Wanted(_Answer):
    """``WantedOut``: a data source the platform imports, and the days to import now."""

    data_source_id: int
    client_id: int
    client_name: str
    provider: str
    account_id: str
    status: str
    complete_through: date | None
    first_day: date | None
    last_day: date | None
    backfill_open: bool


class Credentials(_Answer):
    """``CredentialsOut``: what to call the provider with. Keep it in memory only."""

    data_source_id: int
    provider: str
    auth_kind: str
    account_id: str
    api_base: str | None
    headers: dict[str, str]
    query: dict[str, str]
    access_token: str | None
    api_key: str | None
    expires_at: datetime | None
    token_generation: int

    def __repr__(self) -> str:
        return f"Credentials(data_source_id={self.data_source_id}, ...)"


class Advice(_Answer):
    """``AdviceOut``: what to do after a failed provider call."""

    action: Literal["retry_later", "retry_now", "stop"]
    error_class: str
    hint: str
    retry_after_seconds: float | None
    reconnect_url: str | None
    data_source_status: str | None
    credentials: Credentials | None
    replayed: bool


class Confirmed(_Answer):
    """``ImportsOut``: where the data source's complete days stand now."""

    data_source_id: int
    complete_through: date | None
    backfill_until: date | None
    backfill_closed: bool


# Each model and the schema component of Relink's OpenAPI document it mirrors.
COMPONENTS: dict[type[BaseModel], str] = {
    Wanted: "WantedOut",
    Credentials: "CredentialsOut",
    Advice: "AdviceOut",
    Confirmed: "ImportsOut",
}
