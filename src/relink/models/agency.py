from __future__ import annotations

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from relink.models.base import Base, HasId, HasTimestamps


class Agency(HasId, HasTimestamps, Base):
    """The tenant: every other row belongs to exactly one agency."""

    __tablename__ = "agency"

    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    # Counts the committed transactions that changed a status of its data sources or grants
    # (status_versions.py): a cached count of its statuses is good while this has not moved.
    status_version: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
