from __future__ import annotations

from sqlalchemy import Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from relink.models.base import Base, HasId, HasTimestamps, agency_fk


class Client(HasId, HasTimestamps, Base):
    """A customer of the agency ("Acme Dental")."""

    __tablename__ = "client"
    __table_args__ = (Index("ix_client_agency_name", "agency_id", "name"),)

    agency_id: Mapped[int] = agency_fk()
    name: Mapped[str] = mapped_column(String(200))


# The client filter's type-ahead searches names by "contains": a trigram index on PostgreSQL.
Index(
    "ix_client_name_trgm",
    func.lower(Client.__table__.c.name).label("lower_name"),
    postgresql_using="gin",
    postgresql_ops={"lower_name": "gin_trgm_ops"},
).ddl_if(dialect="postgresql")
