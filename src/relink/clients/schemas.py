"""What ``/api/v1/clients`` says about a client: how current its data is, and (for the agency's
staff) why not.

A client's own login is told whether its data is current, never why (DESIGN.md): its answers
carry ``freshness`` and ``missing_since`` and no status counts (``status_counts`` is null).
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from relink.clients.client_view import Freshness, freshness_of
from relink.clients.health import ClientHealth
from relink.status import DataSourceStatus

_LIVE = tuple(s for s in DataSourceStatus if s is not DataSourceStatus.REMOVED)
# Worst first, as client_view ranks them.
_WORST_FIRST = (Freshness.DELAYED, Freshness.PAUSED, Freshness.CURRENT)


class StatusCounts(BaseModel):
    """A client's data sources counted by status (the trash counted apart)."""

    connected: int = Field(description="Importing on schedule")
    failing: int = Field(description="Retrying transient errors (not a disconnect)")
    disconnected: int = Field(description="Needing a person: reconnect, or a new key")
    paused: int = Field(description="Paused by a user")
    removed: int = Field(description="In the trash, restorable until purged")


class ClientOut(BaseModel):
    """A client of the agency, with the health of its data sources."""

    id: int = Field(description="The client's id")
    name: str = Field(description="The client's name")
    data_source_count: int = Field(description="Its data sources, the trash not counted")
    freshness: Freshness | None = Field(
        description="How current its data is, worst first: delayed, paused or current "
        "(null: no data source)"
    )
    missing_since: date | None = Field(
        description="While delayed: the first day whose data may be missing"
    )
    status_counts: StatusCounts | None = Field(
        description="Its data sources by status; null for a client's own login, who is told "
        "how current its data is, never why"
    )

    @classmethod
    def of(cls, health: ClientHealth, *, with_statuses: bool) -> ClientOut:
        live = {s for s in _LIVE if health.counts.get(s)}
        kinds = {freshness_of(s) for s in live}
        worst = next((f for f in _WORST_FIRST if f in kinds), None)
        counts = StatusCounts(**{s.value: health.counts.get(s, 0) for s in DataSourceStatus})
        return cls(
            id=health.id,
            name=health.name,
            data_source_count=health.total,
            freshness=worst,
            missing_since=health.missing_since if worst is Freshness.DELAYED else None,
            status_counts=counts if with_statuses else None,
        )


class ClientPage(BaseModel):
    """A page of clients, by name."""

    items: list[ClientOut] = Field(description="The clients of this page")
    next_cursor: str | None = Field(
        description="Pass as cursor for the next page; null on the last page"
    )
