"""Expires soon (DESIGN.md, Reconnect): warn before a provider's documented clock ends a grant.

Each catalog entry lists its clocks: a fixed lifetime from consent (Google apps in Testing
mode: 7 days; LinkedIn: a year) or death after idleness (Google: 6 months unused; Microsoft:
90 days). A grant within the warning window gets one incident, so one notice per person; the
reconnect that renews the grant resolves it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.incidents import service as incidents
from relink.models import DataSource, Grant
from relink.notifications.kinds import EXPIRES_SOON
from relink.notifications.outgoing import emit_for_data_sources
from relink.providers.catalog import Catalog
from relink.providers.spec import ExpiryWarning
from relink.providers.taxonomy import AuthKind, ErrorClass
from relink.status import IMPORTABLE_STATUSES, GrantStatus

# Grants read per round trip.
BATCH = 500
AUTHORIZED_AT = "authorized_at"


@dataclass(frozen=True)
class Expiring:
    grant_id: int
    expires_on: date
    message: str


def authorized_at(grant: Grant) -> datetime:
    """When the person last consented (reconnects renew it)."""
    stamp = grant.extra.get(AUTHORIZED_AT) if grant.extra else None
    return datetime.fromisoformat(stamp) if isinstance(stamp, str) else grant.created_at


def expiry_of(
    grant: Grant, warnings: tuple[ExpiryWarning, ...], *, testing_apps: frozenset[str]
) -> tuple[datetime, ExpiryWarning] | None:
    """The earliest documented death of ``grant``, and the clock that says so."""
    found: list[tuple[datetime, ExpiryWarning]] = []
    for warning in warnings:
        if warning.when == "app_in_testing" and grant.provider not in testing_apps:
            continue
        if warning.identities and grant.external_identity not in warning.identities:
            continue
        start = (
            authorized_at(grant)
            if warning.clock == "since_grant"
            else (grant.last_refreshed_at or authorized_at(grant))
        )
        found.append((start + timedelta(days=warning.days), warning))
    return min(found, key=lambda item: item[0]) if found else None


async def watch(
    session: AsyncSession,
    *,
    catalog: Catalog,
    now: datetime,
    testing_apps: frozenset[str] = frozenset(),
) -> list[Expiring]:
    """Open an "expires soon" incident for every grant inside its warning window."""
    with_clocks = [spec.key for spec in catalog if spec.expiry_warnings]
    found: list[Expiring] = []
    last_id = 0
    while with_clocks:
        grants = list(
            await session.scalars(
                select(Grant)
                .where(
                    Grant.id > last_id,
                    Grant.status == GrantStatus.ACTIVE,
                    Grant.auth_kind == AuthKind.OAUTH2,
                    Grant.provider.in_(with_clocks),
                )
                .order_by(Grant.id)
                .limit(BATCH)
            )
        )
        if not grants:
            break
        last_id = grants[-1].id
        for grant in grants:
            expiry = expiry_of(
                grant, catalog.get(grant.provider).expiry_warnings, testing_apps=testing_apps
            )
            if expiry is None:
                continue
            dies, warning = expiry
            if now < dies - timedelta(days=warning.warn_days_before):
                continue
            found.append(Expiring(grant.id, dies.date(), warning.message))
            await _warn(session, grant=grant, dies=dies, message=warning.message, now=now)
    return found


async def _warn(
    session: AsyncSession, *, grant: Grant, dies: datetime, message: str, now: datetime
) -> None:
    key = incidents.expires_soon_key(grant.id)
    if await incidents.open_incident(session, agency_id=grant.agency_id, key=key):
        return
    sources = list(
        await session.scalars(
            select(DataSource.id).where(
                DataSource.grant_id == grant.id, DataSource.status.in_(IMPORTABLE_STATUSES)
            )
        )
    )
    await incidents.open_or_extend(
        session,
        agency_id=grant.agency_id,
        key=key,
        # What will happen if nobody acts.
        error_class=ErrorClass.AUTH_EXPIRED,
        provider=grant.provider,
        now=now,
        kind=EXPIRES_SOON,
        grant_id=grant.id,
        data_source_ids=sources,
        expires_on=dies.date(),
        hint=message,
    )
    await emit_for_data_sources(
        session,
        agency_id=grant.agency_id,
        event="grant.expires_soon",
        data_source_ids=sources,
        error_class=ErrorClass.AUTH_EXPIRED,
        hint=message,
        now=now,
    )
