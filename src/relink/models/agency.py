from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from relink.models.base import Base, HasId, HasTimestamps


class Agency(HasId, HasTimestamps, Base):
    """The tenant: every other row belongs to exactly one agency."""

    __tablename__ = "agency"

    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(80), unique=True)
