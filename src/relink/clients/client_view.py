"""What a client's own login is shown: whether its data is current, never why it is not.

DESIGN.md: a client login is read-only and never told about disconnects. Its pages are rendered
from these projections, which hold no status, reason, incident, grant or provider login, so a
template cannot show what it was never given. Disconnected and failing read alike: "delayed".
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from relink.auth.access import is_staff_or_admin
from relink.clients import health
from relink.data_sources.rows import Row
from relink.errors import Forbidden
from relink.grants.backfill import progress_of
from relink.models import User
from relink.status import DataSourceStatus


class Freshness(enum.StrEnum):
    """How current a client's data is, in words that say nothing of the cause."""

    CURRENT = "current"
    PAUSED = "paused"
    DELAYED = "delayed"


FRESHNESS_LABELS = {
    Freshness.CURRENT: "Up to date",
    Freshness.PAUSED: "Paused",
    Freshness.DELAYED: "Data delayed",
}
# Worst first, as a client would want to read them.
_RANK = {Freshness.DELAYED: 0, Freshness.PAUSED: 1, Freshness.CURRENT: 2}


def freshness_of(status: DataSourceStatus) -> Freshness:
    """Paused by the agency, current, or delayed (every kind of down reads the same)."""
    if status is DataSourceStatus.CONNECTED:
        return Freshness.CURRENT
    if status is DataSourceStatus.PAUSED:
        return Freshness.PAUSED
    return Freshness.DELAYED


@dataclass(frozen=True)
class OwnSource:
    """One of the client's data sources as its own login sees it."""

    key: int
    client_id: int
    client_name: str
    provider: str
    account_name: str
    freshness: Freshness
    last_import_at: datetime | None
    complete_through: date | None
    # The first day whose data may be missing while delayed (None: nothing to admit to).
    missing_since: date | None
    # Days re-imported of the hole an outage left, while that is running.
    filled_days: int | None
    gap_days: int | None

    @property
    def label(self) -> str:
        return FRESHNESS_LABELS[self.freshness]


@dataclass(frozen=True)
class OwnClient:
    """The client in the client login's list: its sources counted and how current they are."""

    id: int
    name: str
    total: int
    freshness: Freshness | None
    missing_since: date | None

    @property
    def label(self) -> str:
        return FRESHNESS_LABELS[self.freshness] if self.freshness else "None connected"


def _own(row: Row, *, key: int, today: date) -> OwnSource:
    source = row.source
    freshness = freshness_of(source.status)
    progress = progress_of(source, client_name=row.client_name, today=today)
    filling = progress is not None and not progress.done
    return OwnSource(
        key=key,
        client_id=source.client_id,
        client_name=row.client_name,
        provider=source.provider,
        account_name=source.external_account_name,
        freshness=freshness,
        last_import_at=source.last_ok_at,
        complete_through=row.complete_through,
        missing_since=row.missing_since if freshness is Freshness.DELAYED else None,
        filled_days=progress.days_done if progress and filling else None,
        gap_days=progress.days_total if progress and filling else None,
    )


def _client_only(user: User) -> None:
    # Staff read the full rows; handing them this view would hide what they must act on.
    if is_staff_or_admin(user):
        raise Forbidden("this view is for a client's own login")


async def own_sources(
    session: AsyncSession, *, user: User, today: date, client_id: int | None = None
) -> list[OwnSource]:
    """The client login's live data sources (of one client if given), delayed first."""
    _client_only(user)
    rows = await health.client_rows(session, user=user, client_id=client_id)
    own = [_own(row, key=i, today=today) for i, row in enumerate(rows)]
    return sorted(own, key=lambda s: (s.client_name, _RANK[s.freshness], s.provider, s.key))


async def own_clients(
    session: AsyncSession, *, user: User, q: str | None = None
) -> list[OwnClient]:
    """The client login's client(s) with their data's freshness, for the clients list."""
    _client_only(user)
    listed: list[OwnClient] = []
    for summary in await health.client_summaries(session, user=user, q=q):
        live = {s: n for s, n in summary.counts.items() if n and s is not DataSourceStatus.REMOVED}
        kinds = {freshness_of(s) for s in live}
        worst = min(kinds, key=_RANK.__getitem__) if kinds else None
        listed.append(
            OwnClient(
                id=summary.id,
                name=summary.name,
                total=summary.total,
                freshness=worst,
                missing_since=summary.missing_since if worst is Freshness.DELAYED else None,
            )
        )
    return listed
