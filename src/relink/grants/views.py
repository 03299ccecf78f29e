"""Reads for the grant pages and API: one grant with its data sources and backfills.

Grants are the agency's business: a client login is answered "not found" (DESIGN.md: client
users are never told about disconnects, and existence must not leak). Every data source listed
is one the reader may see; a shared grant's other clients stay invisible.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from relink.auth.access import ensure_staff_or_admin, scope_of, visible_data_sources
from relink.grants import adopt
from relink.grants.backfill import backfills
from relink.grants.errors import StateUsed
from relink.grants.schemas import BackfillOut, DataSourceBrief, GrantOut
from relink.grants.service import get_grant
from relink.kit.complete_days import complete_through
from relink.models import Client, DataSource, Grant, User
from relink.providers.catalog import default_catalog
from relink.providers.results import ExternalIdentity
from relink.status import DataSourceStatus
from relink.worker.context import JobContext


async def _visible_sources(
    session: AsyncSession, *, user: User, grant_id: int
) -> list[tuple[DataSource, str]]:
    """The grant's live data sources that ``user`` may see, with their client's name."""
    rows = await session.execute(
        visible_data_sources(scope_of(user))
        .add_columns(Client.name)
        .join(Client, Client.id == DataSource.client_id)
        .where(DataSource.grant_id == grant_id, DataSource.status != DataSourceStatus.REMOVED)
        .order_by(Client.name, DataSource.id)
    )
    return [(source, name) for source, name in rows]


async def grant_view(session: AsyncSession, *, user: User, grant_id: int, today: date) -> GrantOut:
    """The grant and the data sources on it this user may see (staff and admins only)."""
    ensure_staff_or_admin(user, what="grant")
    grant = await get_grant(session, user=user, grant_id=grant_id)
    sources = [
        DataSourceBrief(
            id=source.id,
            client_name=name,
            external_account_name=source.external_account_name,
            status=source.status.value,
            reason=source.status_detail,
            # The same last complete day as the data source's own pages (data_sources/gaps.py).
            complete_through=complete_through(
                source.complete_through,
                last_ok_at=source.last_ok_at,
                time_zone=source.account_timezone,
            ),
        )
        for source, name in await _visible_sources(session, user=user, grant_id=grant.id)
    ]
    catalog = default_catalog()
    running = await backfills(session, scope=scope_of(user), today=today, grant_id=grant.id)
    return GrantOut(
        id=grant.id,
        provider=grant.provider,
        provider_name=catalog.display_name(grant.provider),
        identity=grant.identity_name or grant.external_identity,
        status=grant.status.value,
        reason=grant.status_detail,
        data_sources=sources,
        backfills=[
            BackfillOut(
                data_source_id=p.data_source_id,
                client_name=p.client_name,
                gap_start=p.gap_start,
                days_done=p.days_done,
                days_total=p.days_total,
            )
            for p in running
        ],
    )


@dataclass(frozen=True)
class DifferentLogin:
    """What the "That was a different login" page shows: only data sources the user may see."""

    grant: Grant
    identity: ExternalIdentity
    reachable: list[tuple[DataSource, str]]
    unreachable: list[tuple[DataSource, str]]


async def different_login_view(
    session: AsyncSession, *, ctx: JobContext, user: User, state_id: int
) -> DifferentLogin:
    """The login that came back and which of the grant's visible data sources it reaches."""
    ensure_staff_or_admin(user, what="sign-in")
    row = await adopt.pending_state(session, user=user, state_id=state_id)
    _, identity, reachable = adopt.pending_of(ctx, row)
    if row.grant_id is None:
        raise StateUsed()
    grant = await get_grant(session, user=user, grant_id=row.grant_id)
    sources = await _visible_sources(session, user=user, grant_id=grant.id)
    return DifferentLogin(
        grant=grant,
        identity=identity,
        reachable=[(s, n) for s, n in sources if s.external_account_id in reachable],
        unreachable=[(s, n) for s, n in sources if s.external_account_id not in reachable],
    )
