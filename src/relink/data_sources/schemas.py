"""What the API takes and says about data sources."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from datetime import date, datetime
from enum import StrEnum
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, Field, SecretStr, TypeAdapter
from typing_extensions import TypedDict

from relink.data_sources.removal import RemovalPreview, purge_date
from relink.data_sources.rows import Filters, Row, Sort
from relink.kit.pagination import MAX_PAGE_SIZE
from relink.kit.row_ids import MAX_ROW_ID
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
    # The last day whose data is complete, and (while the source is down) the first that is
    # not: days of the account's time zone (None: UTC), the same two the pages show.
    complete_through: date | None
    missing_since: date | None
    account_timezone: str | None
    backfill_from: date | None
    removed_at: datetime | None
    # When a removed data source and its rows are deleted for good.
    purge_on: date | None

    @classmethod
    def of(cls, row: Row, *, catalog: Catalog, retention_days: int) -> DataSourceOut:
        return cls(**fields_of(row, catalog=catalog, retention_days=retention_days))


def fields_of(row: Row, *, catalog: Catalog, retention_days: int) -> dict[str, Any]:
    """A DataSourceOut's fields, in its order, as plain values. A page of them is written to
    JSON as it is (page_json): building and validating 50 models cost more than the rest of
    the request."""
    source = row.source
    removed_at = source.removed_at
    return {
        "id": source.id,
        "client_id": source.client_id,
        "client_name": row.client_name,
        "provider": source.provider,
        "provider_name": catalog.display_name(source.provider),
        "auth_kind": row.auth_kind,
        "external_account_id": source.external_account_id,
        "external_account_name": source.external_account_name,
        "grant_id": source.grant_id,
        "grant_identity_name": row.identity_name,
        "status": source.status,
        "reason": source.status_reason,
        "reason_detail": source.status_detail,
        "last_import_at": source.last_ok_at,
        "last_failure_at": source.last_failed_at,
        "complete_through": row.complete_through,
        "missing_since": row.missing_since,
        "account_timezone": source.account_timezone,
        "backfill_from": source.backfill_from,
        "removed_at": removed_at,
        # When a removed data source and its rows are deleted for good.
        "purge_on": (
            purge_date(removed_at, retention_days=retention_days)
            if removed_at and source.status is DataSourceStatus.REMOVED
            else None
        ),
    }


class DataSourcePage(BaseModel):
    items: list[DataSourceOut]
    next_cursor: str | None
    # The page before this one (None on the first page): pass it as ``cursor``.
    prev_cursor: str | None = None


def _written_as(annotation: Any) -> Any:
    """``annotation`` as JSON writes it: a StrEnum is its own value, so as ``str`` pydantic
    writes its members as they are, without asking each for its ``.value`` (three enums on
    each of a page's 51 rows: 16 µs)."""
    if isinstance(annotation, type) and issubclass(annotation, StrEnum):
        return str
    if get_origin(annotation) in (Union, UnionType):
        return Union[tuple(_written_as(member) for member in get_args(annotation))]  # noqa: UP007
    return annotation


# DataSourcePage's shape over plain values: a TypedDict of DataSourceOut's own fields (built
# from them, so the two cannot drift). Its serializer knows every field's type; given plain
# dicts without one, pydantic infers each value's type and takes three times as long.
_typed_dict: Any = TypedDict
_ItemFields = _typed_dict(
    "_ItemFields",
    {name: _written_as(field.annotation) for name, field in DataSourceOut.model_fields.items()},
)
_PAGE_JSON = TypeAdapter(
    _typed_dict(
        "_PageFields",
        {
            name: list[_ItemFields] if name == "items" else field.annotation  # type: ignore[valid-type]
            for name, field in DataSourcePage.model_fields.items()
        },
    )
)


def page_json(
    rows: Iterable[Row],
    *,
    next_cursor: str | None,
    prev_cursor: str | None,
    catalog: Catalog,
    retention_days: int,
) -> bytes:
    """A DataSourcePage as JSON, written by pydantic's own encoder from plain values: the
    same bytes as the model's JSON (tested), without a model per row."""
    items = [fields_of(row, catalog=catalog, retention_days=retention_days) for row in rows]
    page = {"items": items, "next_cursor": next_cursor, "prev_cursor": prev_cursor}
    return _PAGE_JSON.dump_json(page)


class ListQuery(BaseModel):
    """The list's query parameters, checked together: each one's bounds are in the OpenAPI
    document, and a value out of them is a 422 naming the parameter."""

    status: Annotated[
        DataSourceStatus | None,
        Field(description="Only this status; the trash (removed) is listed only when asked"),
    ] = None
    provider: Annotated[str | None, Field(description="Only this provider (catalog key)")] = None
    client_id: Annotated[
        int | None, Field(ge=1, le=MAX_ROW_ID, description="Only this client's (a row id)")
    ] = None
    auth_kind: Annotated[AuthKind | None, Field(description="Only this kind of sign-in")] = None
    q: Annotated[
        str | None,
        Field(max_length=200, description="Search client, account and login names"),
    ] = None
    sort: Annotated[
        Sort, Field(description="status: disconnected first; client: by client name")
    ] = Sort.STATUS
    limit: Annotated[
        int, Field(ge=1, le=MAX_PAGE_SIZE, description=f"Rows per page (1 to {MAX_PAGE_SIZE})")
    ] = 50
    cursor: Annotated[
        str | None,
        Field(description="next_cursor or prev_cursor of a page; omit it for the first page"),
    ] = None

    def filters(self) -> Filters:
        return Filters(
            status=self.status,
            provider=self.provider,
            client_id=self.client_id,
            auth_kind=self.auth_kind,
            q=self.q,
        )


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
