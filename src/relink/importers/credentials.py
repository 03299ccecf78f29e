"""Credentials on request: what an outside importer calls the provider with, fresh.

The access token is refreshed first, through the grant's one single-flight refresh, when it
is near its end (the same margin as Relink's own imports), so a thousand importers of one
grant's data sources asking at once make one token call. The refresh token never leaves.
Every read is an event naming who read which data source's credentials, never their value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from relink.data_sources.import_credentials import (
    RefreshFailed,
    credentials_for_import,
    holds_usable_token,
)
from relink.events.service import record
from relink.grants.service import open_credentials
from relink.importers.caller import ImporterCaller
from relink.importers.errors import ReconnectNeeded, TryAgainSoon
from relink.models import DataSource, Grant
from relink.notifications.repair import repair_path
from relink.providers.api_auth import api_auth
from relink.providers.results import ProviderFailure
from relink.providers.spec import ProviderSpec
from relink.providers.taxonomy import AuthKind
from relink.status import DataSourceStatus, GrantStatus
from relink.worker.context import JobContext

# How long an importer waits when the token endpoint did not answer and said nothing of when.
TRANSIENT_WAIT_SECONDS = 30.0


@dataclass(frozen=True)
class Handed:
    """What an importer calls the provider with. Never logged: it holds a live secret."""

    data_source_id: int
    provider: str
    auth_kind: AuthKind
    account_id: str
    api_base: str | None
    # Exactly what to send: the Authorization header (or the key's header) and the catalog's
    # extra headers; a key sent in the query string is in ``query``.
    headers: dict[str, str] = field(repr=False)
    query: dict[str, str] = field(repr=False)
    access_token: str | None = field(repr=False)
    api_key: str | None = field(repr=False)
    expires_at: datetime | None
    # Which set of the grant's credentials this is: sent back with a failure report, so a
    # token another importer already replaced is not refreshed again.
    token_generation: int


def reconnect_url(ctx: JobContext, *, source: DataSource, grant: Grant) -> str:
    """The page where a person repairs the data source: the grant's Reconnect, or its key."""
    base = ctx.settings.effective_base_url.rstrip("/")
    return base + repair_path(grant.auth_kind, grant_id=grant.id, data_source_id=source.id)


def ensure_importable(ctx: JobContext, *, source: DataSource, grant: Grant) -> None:
    """Refuse, with the way to repair it, a data source that must not be imported now."""
    if source.status is DataSourceStatus.DISCONNECTED or grant.status is not GrantStatus.ACTIVE:
        raise ReconnectNeeded(
            what=f"data source {source.id} is disconnected",
            reconnect_url=reconnect_url(ctx, source=source, grant=grant),
        )


def api_base(spec: ProviderSpec) -> str | None:
    """The scheme and host of the provider's data API, as the catalog names it."""
    url = spec.metrics.url if spec.metrics is not None else None
    if url is None and spec.accounts is not None:
        url = spec.accounts.url
    if url is None:
        return None
    parts = urlsplit(str(url))
    return f"{parts.scheme}://{parts.netloc}"


async def hand_credentials(
    ctx: JobContext, *, caller: ImporterCaller, data_source_id: int
) -> Handed:
    """The data source's credentials, refreshed first when near their end; an event records
    the read (who, which data source).

    In transactions of its own, one at a time, never inside the request's: every importer
    asks on every import, and a request holding a connection while its refresh or read took
    another ran the pool dry at 200 callers (every one answered 503 after the pool's wait).
    A fresh token is read, handed and recorded in one transaction.
    """
    async with ctx.database.transaction() as session:
        source, grant = await _importable(session, ctx, caller, data_source_id)
        if await holds_usable_token(ctx, grant=grant, session=session):
            credentials = await open_credentials(session, box=ctx.box, grant=grant)
            return await _recorded(session, ctx, caller, source, grant, credentials)
    try:
        _, credentials = await credentials_for_import(
            ctx,
            grant_id=grant.id,
            provider=grant.provider,
            auth_kind=grant.auth_kind,
            refused_generation=None,
        )
    except (RefreshFailed, ProviderFailure) as failed:
        failure = failed.failure if isinstance(failed, RefreshFailed) else failed
        async with ctx.database.transaction() as session:
            # The refresh found the grant dead (and told everyone): the importer must stop.
            await _importable(session, ctx, caller, data_source_id)
        wait = failure.classification.retry_after or TRANSIENT_WAIT_SECONDS
        raise TryAgainSoon(failure.classification.hint.rstrip("."), retry_after=wait) from None
    async with ctx.database.transaction() as session:
        # What the refresh (this caller's or another's) stored: the new expiry and generation.
        source, grant = await _importable(session, ctx, caller, data_source_id)
        credentials = await open_credentials(session, box=ctx.box, grant=grant)
        return await _recorded(session, ctx, caller, source, grant, credentials)


async def _importable(
    session: AsyncSession, ctx: JobContext, caller: ImporterCaller, data_source_id: int
) -> tuple[DataSource, Grant]:
    source = await caller.data_source(session, data_source_id)
    grant = await session.get(Grant, source.grant_id, populate_existing=True)
    assert grant is not None
    ensure_importable(ctx, source=source, grant=grant)
    return source, grant


async def _recorded(
    session: AsyncSession,
    ctx: JobContext,
    caller: ImporterCaller,
    source: DataSource,
    grant: Grant,
    credentials: dict[str, Any],
) -> Handed:
    await record(
        session,
        agency_id=source.agency_id,
        actor=caller.actor,
        subject_type="data_source",
        subject_id=source.id,
        action="data_source.credentials_read",
        details={"grant_id": grant.id, "token_generation": grant.token_generation},
    )
    spec = ctx.catalog.get(source.provider)
    return handed(spec, source, grant, credentials, grant.token_generation)


def handed(
    spec: ProviderSpec,
    source: DataSource,
    grant: Grant,
    credentials: dict[str, Any],
    generation: int,
) -> Handed:
    auth = api_auth(spec, credentials)
    oauth = grant.auth_kind is AuthKind.OAUTH2
    return Handed(
        data_source_id=source.id,
        provider=source.provider,
        auth_kind=grant.auth_kind,
        account_id=source.external_account_id,
        api_base=api_base(spec),
        headers=dict(auth.headers),
        query=dict(auth.query),
        access_token=str(credentials["access_token"]) if oauth else None,
        api_key=str(credentials["api_key"]) if grant.auth_kind is AuthKind.API_KEY else None,
        expires_at=grant.access_expires_at if oauth else None,
        token_generation=generation,
    )
