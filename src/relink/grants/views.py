"""Reads for the grant pages and API: one grant with its data sources and backfills."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.auth.access import visible_client_ids
from relink.data_sources.backfill import backfills
from relink.grants.schemas import BackfillOut, DataSourceBrief, GrantOut
from relink.grants.service import get_grant
from relink.models import Client, DataSource, User
from relink.providers.catalog import default_catalog
from relink.status import DataSourceStatus


async def grant_view(session: AsyncSession, *, user: User, grant_id: int, today: date) -> GrantOut:
    """The grant and the data sources on it this user may see."""
    grant = await get_grant(session, user=user, grant_id=grant_id)
    rows = await session.execute(
        select(DataSource, Client.name)
        .join(Client, Client.id == DataSource.client_id)
        .where(
            DataSource.grant_id == grant.id,
            DataSource.status != DataSourceStatus.REMOVED,
            DataSource.client_id.in_(visible_client_ids(user)),
        )
        .order_by(Client.name)
    )
    sources = [
        DataSourceBrief(
            id=source.id,
            client_name=name,
            external_account_name=source.external_account_name,
            status=source.status.value,
            reason=source.status_detail,
            complete_through=source.complete_through,
        )
        for source, name in rows
    ]
    catalog = default_catalog()
    running = await backfills(session, today=today, user=user, grant_id=grant.id)
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
