"""Connecting a new data source: sign in (OAuth) or give a key, then link accounts to clients.

A data_sources service, not a grants one: it creates data sources through a grant (and the
grant itself, for a key), so it depends on ``grants`` like the rest of ``data_sources``.

The OAuth round trip itself is ``oauth_flow`` + ``callback`` (purpose "connect"), which finds or
creates the agency's grant for the login. What is left is here: which accounts that grant reaches,
and linking the chosen ones to clients, each queued for its first import of history.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.auth.access import (
    ensure_client_visible,
    is_staff_or_admin,
    scope_of,
    visible_clients,
)
from relink.data_sources.credentials import checked_key, refusal
from relink.data_sources.imports import INITIAL_HISTORY_DAYS
from relink.data_sources.service import create_data_source
from relink.errors import Forbidden, InvalidInput, NotFound, RelinkError
from relink.events import service as events
from relink.grants import oauth_flow
from relink.grants.detached import wait_briefly
from relink.grants.refresh import Outcome, refresh_grant
from relink.grants.refresh_schedule import is_fresh
from relink.grants.service import create_grant, open_credentials
from relink.models import Client, DataSource, Grant, SyncTrigger, User
from relink.providers.api_auth import api_auth, key_auth
from relink.providers.data_api import list_accounts, verify_api_key
from relink.providers.results import ExternalAccount, ProviderFailure
from relink.providers.spec import ProviderSpec
from relink.providers.taxonomy import AuthKind
from relink.status import DataSourceStatus, GrantStatus
from relink.worker.context import JobContext
from relink.worker.enqueue import enqueue
from relink.worker.registry import JobName

log = structlog.get_logger(__name__)

# Offered first: they work out of the box, so a new agency can try the whole flow at once.
SANDBOX_PROVIDERS = ("sandbox", "sandbox_api")


class AccountsUnavailable(RelinkError):
    """The provider could not list the login's accounts just now."""

    status_code = 502


@dataclass(frozen=True)
class ProviderChoice:
    key: str
    display_name: str
    auth: AuthKind
    format_hint: str | None
    # False when our OAuth app is not registered at the provider (nothing to sign in with).
    available: bool


def provider_choices(ctx: JobContext) -> list[ProviderChoice]:
    """The catalog's OAuth and API-key providers, the sandbox ones first, then by name."""
    choices = [
        ProviderChoice(
            key=spec.key,
            display_name=spec.display_name,
            auth=spec.auth,
            format_hint=spec.api_key.format_hint if spec.api_key else None,
            available=spec.auth is AuthKind.API_KEY
            or ctx.settings.oauth_client(spec.key) is not None,
        )
        for spec in ctx.catalog
        if spec.auth in (AuthKind.OAUTH2, AuthKind.API_KEY)
    ]
    return sorted(choices, key=_catalog_order)


def _catalog_order(choice: ProviderChoice) -> tuple[int, int, str]:
    if choice.key in SANDBOX_PROVIDERS:
        return (0, SANDBOX_PROVIDERS.index(choice.key), "")
    return (1, 0, choice.display_name.lower())


def _ensure_can_connect(user: User) -> None:
    if not is_staff_or_admin(user):
        raise Forbidden("only agency staff and admins can connect data sources")


def api_key_spec(ctx: JobContext, provider: str) -> ProviderSpec:
    spec = ctx.catalog.get(provider)
    if spec.auth is not AuthKind.API_KEY:
        raise NotFound("API-key provider")
    return spec


async def start_oauth(
    session: AsyncSession, *, ctx: JobContext, user: User, provider: str, nonce: str, now: datetime
) -> str:
    """The provider's consent URL for a new login; the callback brings the browser back."""
    _ensure_can_connect(user)
    started = await oauth_flow.start(
        session,
        ctx=ctx,
        agency_id=user.agency_id,
        provider=provider,
        purpose="connect",
        session_nonce=nonce,
        now=now,
        user_id=user.id,
    )
    return started.authorize_url


async def connectable_grant(session: AsyncSession, *, user: User, grant_id: int) -> Grant:
    """An active OAuth grant of the user's agency, or ``NotFound``."""
    _ensure_can_connect(user)
    grant = await session.get(Grant, grant_id)
    if grant is None or grant.agency_id != user.agency_id or grant.auth_kind is not AuthKind.OAUTH2:
        raise NotFound("grant")
    if grant.status is not GrantStatus.ACTIVE:
        raise InvalidInput("this sign-in is disconnected: reconnect it before linking accounts")
    return grant


async def reachable_accounts(ctx: JobContext, *, grant_id: int) -> list[ExternalAccount]:
    """Every account the grant's login reaches, asked of the provider now (refreshing first)."""
    async with ctx.database.transaction() as session:
        grant = await session.get(Grant, grant_id)
        fresh = grant is not None and is_fresh(grant, now=ctx.now())
    if not fresh:
        # Outside the request: a slow token endpoint must not hold the page, and a refresh the
        # page stops waiting for still saves the rotated token it brings back.
        refreshed = await wait_briefly(
            refresh_grant(ctx, grant_id=grant_id),
            name=f"refresh:{grant_id}",
            message="The provider is slow to renew the sign-in; Relink keeps waiting for it in "
            "the background. Reload this page in a minute.",
        )
        if refreshed.failure is not None:
            raise AccountsUnavailable(refreshed.failure.classification.hint)
        if refreshed.outcome is Outcome.BUSY:
            raise AccountsUnavailable("the sign-in is being refreshed just now; try again")
    async with ctx.database.transaction() as session:
        grant = await session.get(Grant, grant_id, populate_existing=True)
        assert grant is not None
        credentials = await open_credentials(session, box=ctx.box, grant=grant)
    spec = ctx.catalog.get(grant.provider)
    try:
        accounts = await list_accounts(ctx.http, spec, auth=api_auth(spec, credentials))
    except ProviderFailure as failure:
        raise AccountsUnavailable(
            f"{spec.display_name} did not list the accounts: {failure.classification.hint}"
        ) from None
    return sorted(accounts, key=lambda a: (a.manager_id is not None, a.name.lower(), a.id))


@dataclass
class AccountChoice:
    account: ExternalAccount
    # Clients (visible to the user) this account already feeds, by name.
    linked_to: list[Client] = field(default_factory=list)
    # Linked to clients the user cannot see: said, without naming them.
    linked_elsewhere: int = 0


async def account_choices(
    session: AsyncSession, *, user: User, provider: str, accounts: list[ExternalAccount]
) -> list[AccountChoice]:
    """Each reachable account with the clients it is already linked to."""
    visible = {c.id: c for c in await session.scalars(visible_clients(scope_of(user)))}
    links: dict[str, list[int]] = defaultdict(list)
    rows = await session.execute(
        select(DataSource.external_account_id, DataSource.client_id).where(
            DataSource.agency_id == user.agency_id,
            DataSource.provider == provider,
            DataSource.status != DataSourceStatus.REMOVED,
            DataSource.external_account_id.in_([a.id for a in accounts]),
        )
    )
    for account_id, client_id in rows:
        links[account_id].append(client_id)
    choices = []
    for account in accounts:
        ids = links.get(account.id, [])
        shown = sorted((visible[i] for i in ids if i in visible), key=lambda c: c.name)
        choices.append(AccountChoice(account, shown, len(ids) - len(shown)))
    return choices


async def link_accounts(
    session: AsyncSession,
    *,
    user: User,
    grant: Grant,
    accounts: list[ExternalAccount],
    assignments: Mapping[str, int],
    now: datetime,
) -> list[DataSource]:
    """Link each chosen account (id → client id) through ``grant`` and queue its history."""
    _ensure_can_connect(user)
    if not assignments:
        raise InvalidInput("choose a client for at least one account")
    by_id = {a.id: a for a in accounts}
    # Every choice is checked before anything is written: a refusal leaves nothing half-done.
    chosen: list[tuple[ExternalAccount, int]] = []
    for account_id, client_id in assignments.items():
        account = by_id.get(account_id)
        if account is None:
            raise InvalidInput(f"this sign-in does not reach account {account_id}")
        await ensure_client_visible(session, user=user, client_id=client_id)
        await _ensure_not_linked(
            session, user=user, provider=grant.provider, account_id=account.id, client_id=client_id
        )
        chosen.append((account, client_id))
    created = []
    for account, client_id in chosen:
        source = await create_data_source(
            session,
            grant=grant,
            client_id=client_id,
            external_account_id=account.id,
            external_account_name=account.name,
            account_timezone=account.time_zone,
        )
        created.append(await _queue_history(session, user=user, source=source, now=now))
    log.info("data_source.connected", grant_id=grant.id, count=len(created))
    return created


async def connect_api_key(
    session: AsyncSession,
    *,
    ctx: JobContext,
    user: User,
    provider: str,
    client_id: int,
    raw_key: str,
    now: datetime,
) -> DataSource:
    """Check the key's format, test it live, then create its grant and data source."""
    _ensure_can_connect(user)
    spec = api_key_spec(ctx, provider)
    await ensure_client_visible(session, user=user, client_id=client_id)
    key = checked_key(spec, raw_key)
    try:
        identity = await verify_api_key(ctx.http, spec, key=key)
    except ProviderFailure as failure:
        raise refusal(spec, failure) from None
    account_id = identity.id or spec.key
    account_name = identity.name or spec.display_name
    await _ensure_not_linked(
        session, user=user, provider=spec.key, account_id=account_id, client_id=client_id
    )
    grant = await create_grant(
        session,
        box=ctx.box,
        agency_id=user.agency_id,
        provider=spec.key,
        auth_kind=AuthKind.API_KEY,
        credentials={"api_key": key},
        external_identity=identity.id or None,
        identity_name=account_name,
    )
    source = await create_data_source(
        session,
        grant=grant,
        client_id=client_id,
        external_account_id=account_id,
        external_account_name=account_name,
        account_timezone=await _key_account_time_zone(ctx, spec, key=key, account_id=account_id),
    )
    log.info("data_source.connected", grant_id=grant.id, provider=spec.key, count=1)
    return await _queue_history(session, user=user, source=source, now=now)


async def _key_account_time_zone(
    ctx: JobContext, spec: ProviderSpec, *, key: str, account_id: str
) -> str | None:
    """The time zone of the one account a key opens, where the provider's listing says it.

    Asked only of a provider whose catalog entry reads one; a listing that fails now leaves the
    account in UTC rather than refuse a key that was just verified.
    """
    if spec.accounts is None or spec.accounts.time_zone is None:
        return None
    try:
        accounts = await list_accounts(ctx.http, spec, auth=key_auth(spec, key))
    except ProviderFailure as failure:
        log.info(
            "data_source.time_zone.unknown",
            provider=spec.key,
            error_class=failure.error_class.value,
        )
        return None
    zones = {account.id: account.time_zone for account in accounts}
    if account_id in zones:
        return zones[account_id]
    # A key's listing names its one account, maybe under another id than its verify answer.
    return accounts[0].time_zone if len(accounts) == 1 else None


async def _ensure_not_linked(
    session: AsyncSession, *, user: User, provider: str, account_id: str, client_id: int
) -> None:
    found = await session.scalar(
        select(DataSource.id).where(
            DataSource.agency_id == user.agency_id,
            DataSource.provider == provider,
            DataSource.external_account_id == account_id,
            DataSource.client_id == client_id,
            DataSource.status != DataSourceStatus.REMOVED,
        )
    )
    if found is not None:
        raise InvalidInput(f"account {account_id} is already linked to that client")


async def _queue_history(
    session: AsyncSession, *, user: User, source: DataSource, now: datetime
) -> DataSource:
    # The first import fetches this much history; backfill_from makes its progress visible.
    source.backfill_from = now.date() - timedelta(days=INITIAL_HISTORY_DAYS)
    await events.record(
        session,
        agency_id=source.agency_id,
        actor=events.user_actor(user),
        subject_type="data_source",
        subject_id=source.id,
        action="created",
        details={"grant_id": source.grant_id, "external_account_id": source.external_account_id},
    )
    await session.flush()
    enqueue(session, JobName.IMPORT, data_source_id=source.id, trigger=SyncTrigger.BACKFILL)
    return source
