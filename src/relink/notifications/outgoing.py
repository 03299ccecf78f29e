"""Webhook events about data sources, built in one query however many sources are involved."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.config import get_settings
from relink.models import Client, DataSource, Grant, WebhookEndpoint
from relink.notifications import webhooks
from relink.notifications.kinds import REASONS
from relink.notifications.repair import repair_path
from relink.providers.catalog import default_catalog
from relink.providers.taxonomy import ErrorClass


async def emit_for_data_sources(
    session: AsyncSession,
    *,
    agency_id: int,
    event: str,
    data_source_ids: Sequence[int],
    error_class: ErrorClass | None,
    hint: str | None,
    now: datetime,
    extra: Mapping[int, Mapping[str, Any]] | None = None,
) -> int:
    """One webhook item per data source, sent to every endpoint subscribed to ``event``;
    ``extra`` adds an event's own fields to a data source's item, by its id."""
    if not data_source_ids:
        return 0
    # Most agencies have no webhook: skip building thousands of items for nobody.
    has_endpoint = await session.scalar(
        select(
            exists().where(
                WebhookEndpoint.agency_id == agency_id, WebhookEndpoint.is_active.is_(True)
            )
        )
    )
    if not has_endpoint:
        return 0
    rows = await session.execute(
        select(
            DataSource.id,
            DataSource.provider,
            DataSource.external_account_id,
            DataSource.external_account_name,
            DataSource.grant_id,
            Grant.auth_kind,
            Client.id,
            Client.name,
        )
        .join(Client, Client.id == DataSource.client_id)
        .join(Grant, Grant.id == DataSource.grant_id)
        .where(DataSource.id.in_(list(data_source_ids)))
    )
    base_url = get_settings().effective_base_url
    catalog = default_catalog()
    items: list[dict[str, Any]] = []
    for ds_id, provider, account_id, account_name, grant_id, auth_kind, client_id, name in rows:
        action = repair_path(auth_kind, grant_id=grant_id, data_source_id=ds_id)
        items.append(
            {
                "data_source_id": ds_id,
                "client_id": client_id,
                "client_name": name,
                "provider": provider,
                "provider_name": catalog.display_name(provider),
                "external_account_id": account_id,
                "external_account_name": account_name,
                "grant_id": grant_id,
                "error_class": error_class.value if error_class else None,
                "reason": REASONS.get(error_class, "") if error_class else "",
                "hint": hint or "",
                "action_url": f"{base_url}{action}",
                **(extra or {}).get(ds_id, {}),
            }
        )
    return await webhooks.emit(session, agency_id=agency_id, event=event, items=items, now=now)
