"""What the API takes and says about data sources."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime

from pydantic import BaseModel, Field, SecretStr

from relink.data_sources.removal import RemovalPreview, purge_date
from relink.data_sources.rows import Row
from relink.providers.catalog import Catalog
from relink.providers.taxonomy import AuthKind, ErrorClass
from relink.status import DataSourceStatus


class DataSourceOut(BaseModel):
    id: int
    client_id: int
    client_name: str
    provider: str
    provider_name: str
    auth_kind: AuthKind
    external_account_id: str
    external_account_name: str
    grant_id: int
    grant_identity_name: str | None
    status: DataSourceStatus
    reason: ErrorClass | None
    reason_detail: str | None
    last_import_at: datetime | None
    last_failure_at: datetime | None
    complete_through: date | None
    missing_since: date | None
    backfill_from: date | None
    removed_at: datetime | None
    # When a removed data source and its rows are deleted for good.
    purge_on: date | None

    @classmethod
    def of(cls, row: Row, *, catalog: Catalog, retention_days: int) -> DataSourceOut:
        source = row.source
        return cls(
            id=source.id,
            client_id=source.client_id,
            client_name=row.client_name,
            provider=source.provider,
            provider_name=catalog.display_name(source.provider),
            auth_kind=row.auth_kind,
            external_account_id=source.external_account_id,
            external_account_name=source.external_account_name,
            grant_id=source.grant_id,
            grant_identity_name=row.identity_name,
            status=source.status,
            reason=source.status_reason,
            reason_detail=source.status_detail,
            last_import_at=source.last_ok_at,
            last_failure_at=source.last_failed_at,
            complete_through=source.complete_through,
            missing_since=row.missing_since,
            backfill_from=source.backfill_from,
            removed_at=source.removed_at,
            purge_on=(
                purge_date(source.removed_at, retention_days=retention_days)
                if source.status is DataSourceStatus.REMOVED and source.removed_at
                else None
            ),
        )


class DataSourcePage(BaseModel):
    items: list[DataSourceOut]
    next_cursor: str | None
    # The page before this one (None on the first page): pass it as ``cursor``.
    prev_cursor: str | None = None


class CredentialsIn(BaseModel):
    # SecretStr keeps the key out of reprs, validation errors and logs.
    api_key: SecretStr = Field(max_length=2000)


class KeyRefusedOut(BaseModel):
    detail: str
    reason: str


class DisconnectIn(BaseModel):
    confirm: str = Field(max_length=300, description="the client's name, as a confirmation")


class RemovalPreviewOut(BaseModel):
    data_source_id: int
    client_name: str
    provider: str
    provider_name: str
    external_account_id: str
    external_account_name: str
    days_of_data: int
    first_day: date | None
    last_day: date | None
    retention_days: int
    purge_on: date
    revokes_grant: bool
    other_data_sources_on_grant: int
    # What the confirmation box asks the person to type.
    confirm_with: str

    @classmethod
    def of(cls, preview: RemovalPreview) -> RemovalPreviewOut:
        # The same fields, field for field, plus what the person is asked to type.
        return cls(**asdict(preview), confirm_with=preview.client_name)


class SyncQueued(BaseModel):
    data_source_id: int
    queued: bool = True
