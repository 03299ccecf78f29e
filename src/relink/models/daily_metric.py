from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from relink.models.base import Base, HasId, Id, Json, agency_fk, utcnow


class DailyMetric(HasId, Base):
    """One data source's metric values for one day; a re-import replaces, never duplicates."""

    __tablename__ = "daily_metric"
    __table_args__ = (UniqueConstraint("data_source_id", "day"),)

    agency_id: Mapped[int] = agency_fk()
    data_source_id: Mapped[int] = mapped_column(
        Id, ForeignKey("data_source.id", ondelete="CASCADE")
    )
    day: Mapped[date]
    # Provider metric name -> value (impressions, clicks, cost, conversions, ...).
    values: Mapped[dict[str, float]] = mapped_column(Json)
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)
