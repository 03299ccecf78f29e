from __future__ import annotations

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from relink.models.base import Base, HasId, HasTimestamps, agency_fk


class Client(HasId, HasTimestamps, Base):
    """A customer of the agency ("Acme Dental")."""

    __tablename__ = "client"
    __table_args__ = (Index("ix_client_agency_name", "agency_id", "name"),)

    agency_id: Mapped[int] = agency_fk()
    name: Mapped[str] = mapped_column(String(200))
