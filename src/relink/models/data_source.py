from __future__ import annotations

from datetime import date, datetime
from typing import Protocol

from sqlalchemy import Computed, ForeignKey, Index, SmallInteger, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from relink.models.base import Base, HasId, HasTimestamps, Id, agency_fk, str_enum
from relink.providers.taxonomy import AuthKind, ErrorClass, ImportMode
from relink.status import DataSourceStatus


class DataSource(HasId, HasTimestamps, Base):
    """One client's link to one external account through one grant."""

    __tablename__ = "data_source"
    __table_args__ = (
        # Keyset pagination of the Data Sources page, by status and by id.
        Index("ix_data_source_agency_status_id", "agency_id", "status", "id"),
        # "Disconnected first" pages read this index in order instead of sorting every row.
        Index("ix_data_source_agency_attention_id", "agency_id", "attention", "id"),
        # "By client" pages read this index in order: the client's name is copied onto each
        # row (``client_name``) so that sort needs no join and no sort of every row.
        Index("ix_data_source_agency_client_name_id", "agency_id", "client_name", "id"),
        Index("ix_data_source_agency_status_name_id", "agency_id", "status", "client_name", "id"),
        # A provider filter, read in either order of the page (a rare provider's rows are its
        # own range; a common one's page stops after a page).
        Index(
            "ix_data_source_agency_provider_attention_id",
            "agency_id",
            "provider",
            "attention",
            "id",
        ),
        Index(
            "ix_data_source_agency_provider_name_id", "agency_id", "provider", "client_name", "id"
        ),
        # The auth filter (OAuth or API key), read in either order of the page, for the same
        # reason: a rare kind's rows are its own range, a common one's page stops after a page.
        Index(
            "ix_data_source_agency_auth_attention_id", "agency_id", "auth_kind", "attention", "id"
        ),
        Index("ix_data_source_agency_auth_name_id", "agency_id", "auth_kind", "client_name", "id"),
        Index("ix_data_source_grant_status", "grant_id", "status"),
        Index("ix_data_source_status_next_sync", "status", "next_sync_at"),
    )

    agency_id: Mapped[int] = agency_fk()
    client_id: Mapped[int] = mapped_column(
        Id, ForeignKey("client.id", ondelete="CASCADE"), index=True
    )
    grant_id: Mapped[int] = mapped_column(Id, ForeignKey("grant.id", ondelete="RESTRICT"))
    provider: Mapped[str] = mapped_column(String(64))
    # A copy of its grant's auth kind (a grant is OAuth or an API key for good), the key of
    # the auth filter's indexes: that filter then needs no join to the grant per row, and
    # reads its own rows, not the agency's (set by create_data_source, kept by grants/adopt.py
    # when data sources move to another grant).
    auth_kind: Mapped[AuthKind] = mapped_column(str_enum(AuthKind))
    external_account_id: Mapped[str] = mapped_column(String(200))
    external_account_name: Mapped[str] = mapped_column(String(300))
    # A copy of the client's name, the sort key of "by client" (kept by clients/service.py's
    # rename and set by create_data_source).
    client_name: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[DataSourceStatus] = mapped_column(
        str_enum(DataSourceStatus), default=DataSourceStatus.CONNECTED
    )
    # What needs a person first (0 disconnected, 1 failing, 2 paused, 3 connected, 4 removed),
    # kept by the database itself so no code path that changes a status can forget it.
    attention: Mapped[int] = mapped_column(
        SmallInteger,
        Computed(
            "CASE status WHEN 'disconnected' THEN 0 WHEN 'failing' THEN 1 WHEN 'paused' THEN 2 "
            "WHEN 'connected' THEN 3 ELSE 4 END",
            persisted=True,
        ),
    )
    status_reason: Mapped[ErrorClass | None] = mapped_column(str_enum(ErrorClass))
    status_detail: Mapped[str | None] = mapped_column(Text)
    # The account's IANA time zone as the provider reports it (None: not told, read as UTC):
    # a day is complete only once it is over there.
    account_timezone: Mapped[str | None] = mapped_column(String(64))
    # The last day whose data is complete (over in the account's time zone, past the provider's
    # reporting delay): moves forward only, but never past such a day (import_writes.py).
    complete_through: Mapped[date | None]
    last_ok_at: Mapped[datetime | None]
    last_failed_at: Mapped[datetime | None]
    consecutive_failures: Mapped[int] = mapped_column(default=0)
    next_sync_at: Mapped[datetime | None]
    paused_at: Mapped[datetime | None]
    removed_at: Mapped[datetime | None]
    # The first missing day when a reconnect started a backfill (progress counts from here).
    backfill_from: Mapped[date | None]
    # Who imports its days: Relink, or the platform's own importers (which then confirm them
    # through the API). None follows the provider's catalog entry.
    imports: Mapped[ImportMode | None] = mapped_column(str_enum(ImportMode))
    # For an external source: the ``backfill_from`` whose days were asked of the platform's
    # importers (data_sources/backfill_requests.py), so a job run twice asks once.
    backfill_requested_from: Mapped[date | None]


# Search is "contains", any case, as ``lower(column) LIKE lower(pattern)``: trigram indexes on
# ``lower(column)`` on PostgreSQL (the migration creates the pg_trgm extension). On SQLite a
# trigram FTS5 table of both names (migration 0012, kept in step by triggers) answers a search
# of three characters or more; shorter ones filter while reading a sort index.
SQLITE_SEARCH_TABLE = "data_source_search"
for _column in ("client_name", "external_account_name"):
    _lower = func.lower(DataSource.__table__.c[_column]).label(f"lower_{_column}")
    Index(
        f"ix_data_source_{_column}_trgm",
        _lower,
        postgresql_using="gin",
        postgresql_ops={f"lower_{_column}": "gin_trgm_ops"},
    ).ddl_if(dialect="postgresql")


class SourceFields(Protocol):
    """What readers of a data source use: a ``DataSource`` or a row of its columns (the pages read
    plain rows)."""

    @property
    def id(self) -> int: ...
    @property
    def client_id(self) -> int: ...
    @property
    def grant_id(self) -> int: ...
    @property
    def provider(self) -> str: ...
    @property
    def external_account_id(self) -> str: ...
    @property
    def external_account_name(self) -> str: ...
    @property
    def client_name(self) -> str: ...
    @property
    def status(self) -> DataSourceStatus: ...
    @property
    def status_reason(self) -> ErrorClass | None: ...
    @property
    def status_detail(self) -> str | None: ...
    @property
    def complete_through(self) -> date | None: ...
    @property
    def last_ok_at(self) -> datetime | None: ...
    @property
    def last_failed_at(self) -> datetime | None: ...
    @property
    def paused_at(self) -> datetime | None: ...
    @property
    def removed_at(self) -> datetime | None: ...
    @property
    def backfill_from(self) -> date | None: ...
    @property
    def account_timezone(self) -> str | None: ...
