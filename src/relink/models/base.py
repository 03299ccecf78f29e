"""Declarative base, constraint naming convention and the column types every table shares."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Enum,
    ForeignKey,
    Integer,
    MetaData,
    TypeDecorator,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.
Id = BigInteger().with_variant(Integer(), "sqlite")
Json = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on both databases (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def result_processor(self, dialect: Dialect, coltype: Any) -> Any:
        if dialect.name == "postgresql":
            # Every connection's time zone is UTC (db.create_engine): psycopg already answers
            # aware UTC datetimes, and a page of rows reads a few hundred of them.
            return None
        return super().result_processor(dialect, coltype)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: dict[Any, Any] = {datetime: UTCDateTime()}


class HasId:
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)


class HasTimestamps:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


def agency_fk() -> Mapped[int]:
    """Every row carries its agency, indexed, so every query can be scoped by it."""
    return mapped_column(Id, ForeignKey("agency.id", ondelete="CASCADE"), index=True)


class _StrEnumColumn(Enum):
    """SQLAlchemy's portable Enum, reading values through a dict lookup with no Python frame
    per value (statuses are read for every row of every page and every sweep)."""

    cache_ok = True

    def result_processor(self, dialect: Dialect, coltype: Any) -> Any:
        # Only where the driver's strings need no conversion of their own (String's).
        converts = super(Enum, self).result_processor(dialect, coltype)
        if converts is not None:
            return super().result_processor(dialect, coltype)  # type: ignore[no-untyped-call]
        # As Enum's own: a member by its value, None as None, an unknown value a LookupError
        # (KeyError is one).
        members: dict[str | None, enum.Enum | None] = {None: None}
        members.update((member.value, member) for member in self.enum_class or ())
        return members.__getitem__


def str_enum(enum_cls: type[enum.StrEnum]) -> Enum:
    """A portable enum column stored as its value (VARCHAR + CHECK), not a native type."""
    return _StrEnumColumn(
        enum_cls,
        native_enum=False,
        length=24,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )
