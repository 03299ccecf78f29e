"""Token refresh (DESIGN.md, Reconnect): ahead of expiry, at least daily, one at a time per grant.

The order matters. Take the grant's lease; re-read the grant (another process may have just
refreshed it); call the token endpoint with no transaction open; save the answer, with its
rotated refresh token, in one commit before anyone uses the new access token. A lost answer
keeps the old token: providers that rotate accept it again for a short grace period, and only
a definitive ``invalid_grant`` ends the grant.
"""

from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog

from relink.data_sources.failures import Applied, apply_grant_failure, backoff
from relink.errors import CredentialsUnreadable
from relink.grants.service import open_credentials, store_credentials
from relink.incidents import service as incidents
from relink.kit.locks import LeaseLock
from relink.models import Grant
from relink.providers import oauth2
from relink.providers.classify import Classification
from relink.providers.results import ProviderFailure, TokenSet
from relink.providers.taxonomy import GRANT_LEVEL, AuthKind, ErrorClass
from relink.status import GrantStatus
from relink.worker.context import JobContext

log = structlog.get_logger(__name__)

# Refresh this long before the access token lapses, so an import never starts on a dead token.
REFRESH_MARGIN = timedelta(minutes=5)
# Spread refreshes over this window: a thousand grants with one expiry must not refresh at once.
REFRESH_JITTER = timedelta(minutes=10)
# Every grant at least daily: refresh tokens left idle for months die at some providers.
MAX_REFRESH_INTERVAL = timedelta(hours=24)
# Longer than a token request may take (30 s timeout), short enough to recover from a crash.
LEASE_TTL = timedelta(seconds=90)
# How long to wait for another process's refresh of the same grant before giving up this round.
LEASE_WAIT_SECONDS = 40.0
LEASE_POLL_SECONDS = 0.2
# A lost answer is retried at once with the same refresh token, inside the provider's
# reuse grace period (RFC 9700 4.14.2 lets servers accept a just-rotated token briefly).
LOST_ANSWER_RETRIES = 3
LOST_ANSWER_PAUSE_SECONDS = 0.5


class Outcome(enum.StrEnum):
    REFRESHED = "refreshed"
    STILL_FRESH = "still_fresh"
    FAILED = "failed"
    SKIPPED = "skipped"
    BUSY = "busy"


@dataclass(frozen=True)
class RefreshResult:
    outcome: Outcome
    failure: ProviderFailure | None = None
    # What the failure did to the grant and its data sources, when it was definitive.
    applied: Applied | None = None


def next_refresh_at(
    *, now: datetime, access_expires_at: datetime | None, ctx: JobContext
) -> datetime:
    """Before the access token lapses (margin + jitter), and never later than a day from now."""
    daily = now + MAX_REFRESH_INTERVAL - REFRESH_JITTER * ctx.rng.random()
    if access_expires_at is None:
        return daily
    ahead = access_expires_at - REFRESH_MARGIN - REFRESH_JITTER * ctx.rng.random()
    return max(min(ahead, daily), now)


def is_fresh(grant: Grant, *, now: datetime) -> bool:
    return grant.access_expires_at is not None and grant.access_expires_at > now + REFRESH_MARGIN


def in_backoff(grant: Grant, *, now: datetime) -> bool:
    """A refresh failed lately for a transient reason and its retry is not due yet."""
    return (
        grant.refresh_failures > 0
        and grant.next_refresh_at is not None
        and grant.next_refresh_at > now
    )


def _attempt_marker(grant: Grant) -> tuple[datetime | None, int]:
    return grant.last_refreshed_at, grant.refresh_failures


def _backing_off(provider: str) -> ProviderFailure:
    classification = Classification(
        ErrorClass.PROVIDER_UNAVAILABLE,
        "The provider's token service failed a moment ago; Relink retries after a pause.",
    )
    return ProviderFailure(classification, provider=provider, operation="refresh_backoff")


async def refresh_grant(ctx: JobContext, *, grant_id: int, force: bool = False) -> RefreshResult:
    """Refresh one grant's access token unless it is fresh; safe to call from many processes."""
    async with ctx.database.transaction() as session:
        grant = await session.get(Grant, grant_id)
        if grant is None or grant.auth_kind is not AuthKind.OAUTH2:
            return RefreshResult(Outcome.SKIPPED)
        if grant.status is not GrantStatus.ACTIVE:
            return RefreshResult(Outcome.SKIPPED)
        if not force and is_fresh(grant, now=ctx.now()):
            return RefreshResult(Outcome.STILL_FRESH)
        if not force and in_backoff(grant, now=ctx.now()):
            return RefreshResult(Outcome.FAILED, _backing_off(grant.provider))
        seen = _attempt_marker(grant)

    lease = LeaseLock(
        ctx.database,
        id_column=Grant.id,
        owner_column=Grant.refresh_lock_owner,
        expires_column=Grant.refresh_lock_expires_at,
        row_id=grant_id,
        ttl=LEASE_TTL,
    )
    if not await _take(lease, ctx):
        return RefreshResult(Outcome.BUSY)
    try:
        return await _refresh_holding_lease(ctx, grant_id=grant_id, seen=seen)
    finally:
        await lease.release()


async def _take(lease: LeaseLock, ctx: JobContext) -> bool:
    waited = 0.0
    while not await lease.acquire(now=ctx.now()):
        if waited >= LEASE_WAIT_SECONDS:
            return False
        await asyncio.sleep(LEASE_POLL_SECONDS)
        waited += LEASE_POLL_SECONDS
    return True


async def _refresh_holding_lease(
    ctx: JobContext, *, grant_id: int, seen: tuple[datetime | None, int]
) -> RefreshResult:
    async with ctx.database.transaction() as session:
        grant = await session.get(Grant, grant_id, populate_existing=True)
        assert grant is not None
        if grant.status is not GrantStatus.ACTIVE:
            return RefreshResult(Outcome.SKIPPED)
        if _attempt_marker(grant) != seen:
            # Another process refreshed, or tried and failed, while we waited for the lease:
            # use its result rather than calling the token endpoint again.
            if is_fresh(grant, now=ctx.now()):
                return RefreshResult(Outcome.STILL_FRESH)
            return RefreshResult(Outcome.FAILED, _backing_off(grant.provider))
        try:
            credentials = await open_credentials(session, box=ctx.box, grant=grant)
        except CredentialsUnreadable:
            return RefreshResult(Outcome.SKIPPED)

    refresh_token = credentials.get("refresh_token")
    if not refresh_token:
        return RefreshResult(Outcome.SKIPPED)
    try:
        tokens = await _call_token_endpoint(
            ctx, spec_key=grant.provider, refresh_token=refresh_token
        )
    except ProviderFailure as failure:
        applied = await _record_failure(ctx, grant_id=grant_id, failure=failure)
        return RefreshResult(Outcome.FAILED, failure, applied)
    await _save(ctx, grant_id=grant_id, tokens=tokens, previous=credentials)
    return RefreshResult(Outcome.REFRESHED)


async def _call_token_endpoint(ctx: JobContext, *, spec_key: str, refresh_token: str) -> TokenSet:
    spec = ctx.catalog.get(spec_key)
    app = ctx.app_credentials(spec_key)
    for attempt in range(LOST_ANSWER_RETRIES + 1):
        try:
            return await oauth2.refresh(
                ctx.http, spec, app=app, refresh_token=refresh_token, now=ctx.now()
            )
        except ProviderFailure as failure:
            if failure.answered or attempt == LOST_ANSWER_RETRIES:
                raise
            log.warning("grant.refresh.retrying", provider=spec_key, attempt=attempt + 1)
            await asyncio.sleep(LOST_ANSWER_PAUSE_SECONDS * (2**attempt))
    raise AssertionError("unreachable")


async def _save(
    ctx: JobContext, *, grant_id: int, tokens: TokenSet, previous: dict[str, Any]
) -> None:
    now = ctx.now()
    async with ctx.database.transaction() as session:
        grant = await session.get(Grant, grant_id, populate_existing=True)
        assert grant is not None
        store_credentials(box=ctx.box, grant=grant, credentials=tokens.as_credentials(previous))
        grant.access_expires_at = tokens.expires_at
        grant.last_refreshed_at = now
        grant.refresh_failures = 0
        grant.next_refresh_at = next_refresh_at(
            now=now, access_expires_at=tokens.expires_at, ctx=ctx
        )
        if tokens.scopes:
            grant.scopes = list(tokens.scopes)
        await incidents.resolve(
            session,
            agency_id=grant.agency_id,
            keys=[incidents.provider_key(grant.provider, ErrorClass.APP_MISCONFIGURED)],
            now=now,
            by="system:refresh",
        )
    log.info("grant.refresh.ok", grant_id=grant_id)


async def _record_failure(
    ctx: JobContext, *, grant_id: int, failure: ProviderFailure
) -> Applied | None:
    now = ctx.now()
    log.warning(
        "grant.refresh.failed",
        grant_id=grant_id,
        error_class=failure.error_class.value,
        provider_code=failure.classification.provider_code,
    )
    async with ctx.database.transaction() as session:
        grant = await session.get(Grant, grant_id, populate_existing=True)
        assert grant is not None
        if failure.error_class in GRANT_LEVEL:
            return await apply_grant_failure(
                session, grant=grant, classification=failure.classification, now=now,
                actor="system:refresh",
            )  # fmt: skip
        if failure.error_class is ErrorClass.APP_MISCONFIGURED:
            await incidents.open_or_extend(
                session, agency_id=grant.agency_id,
                key=incidents.provider_key(grant.provider, ErrorClass.APP_MISCONFIGURED),
                error_class=ErrorClass.APP_MISCONFIGURED, provider=grant.provider, now=now,
                detail=failure.classification.detail, hint=failure.classification.hint,
            )  # fmt: skip
        # Anything else is transient: keep the old token and try again later.
        grant.refresh_failures += 1
        wait = (
            timedelta(seconds=failure.classification.retry_after)
            if failure.classification.retry_after
            else backoff(grant.refresh_failures, rng=ctx.rng)
        )
        grant.next_refresh_at = now + wait
    return None
