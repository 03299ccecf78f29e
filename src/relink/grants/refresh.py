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
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import select

from relink.errors import CredentialsUnreadable
from relink.grants.failures import Applied, apply_grant_failure, backoff
from relink.grants.refresh_schedule import in_backoff, is_fresh, next_refresh_at
from relink.grants.service import open_credentials, store_credentials
from relink.incidents import service as incidents
from relink.kit.locks import LeaseLock
from relink.models import Grant
from relink.providers import oauth2
from relink.providers.classify import Classification, after_lost_answer
from relink.providers.results import ProviderFailure, TokenSet
from relink.providers.spec import ProviderSpec
from relink.providers.taxonomy import GRANT_LEVEL, AuthKind, ErrorClass
from relink.status import GrantStatus
from relink.worker.context import JobContext

log = structlog.get_logger(__name__)

# Added to the longest a refresh can take (every attempt waiting its full token timeout), so a
# lease outlives the refresh holding it; short enough to recover from a crash.
LEASE_SLACK = timedelta(seconds=30)
# How long to wait for another process's refresh of the same grant before giving up this round.
LEASE_WAIT_SECONDS = 40.0
LEASE_POLL_SECONDS = 0.2
# A lost answer may carry the only copy of a rotated refresh token. It is retried at once with
# the same refresh token (no pause: the provider's reuse grace runs from its rotation, RFC 9700
# 4.14.2), at most this many times, and every retry is sent inside the grace.
LOST_ANSWER_RETRIES = 4
# Share of the provider's reuse grace retries may use; the rest absorbs latency and clock skew.
REUSE_GRACE_SHARE = 0.75
# After a lost answer, a 5xx or 429 is retried too (the old token may live only for the rest of
# the grace), after this short pause so a struggling provider is not hammered.
LOST_ANSWER_PAUSE_SECONDS = 1.0


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
    # What the refresh did about its failure, when that failure was definitive: the grant and
    # its data sources went down (grant-level), or the app's incident opened (misconfigured).
    # A caller must not apply the same failure again; None means nothing was applied.
    applied: Applied | None = None
    # This call waited on a refresh of the same grant already running in this process, whose
    # failure that refresh applied (and counted): the caller waits with the grant.
    joined: bool = False


# Refreshes running in this process, by event loop, database and grant: a second caller waits
# for the first one's result instead of polling its lease (one decision per grant, not 50).
_in_flight: dict[tuple[int, int, int], asyncio.Future[RefreshResult]] = {}


def _attempt_marker(grant: Grant) -> tuple[datetime | None, int]:
    return grant.last_refreshed_at, grant.refresh_failures


def _backing_off(provider: str) -> ProviderFailure:
    classification = Classification(
        ErrorClass.PROVIDER_UNAVAILABLE,
        "The provider's token service failed a moment ago; Relink retries after a pause.",
    )
    return ProviderFailure(classification, provider=provider, operation="refresh_backoff")


async def refresh_grant(
    ctx: JobContext, *, grant_id: int, replacing: int | None = None
) -> RefreshResult:
    """Refresh one grant's access token unless it is fresh; safe to call from many processes.

    ``replacing`` forces a refresh of a token that looks fresh: the token generation a caller
    saw refused by the provider, or found due by the clock. It is refreshed only while that
    generation is still the grant's, compared under the lease; when another caller (in any
    process) has replaced it meanwhile, the answer is ``STILL_FRESH``: use the current token.
    So one expiry costs one token call, however many data sources, batches and processes met
    it. Callers in one process while a refresh of the grant runs receive its result
    (``joined``); other processes wait on the grant's lease.
    """
    loop = asyncio.get_running_loop()
    key = (id(loop), id(ctx.database), grant_id)
    running = _in_flight.get(key)
    if running is not None:
        shared = await asyncio.shield(running)
        # What the first caller applied is not applied (nor counted) again by the others.
        return RefreshResult(shared.outcome, shared.failure, joined=shared.applied is not None)
    future: asyncio.Future[RefreshResult] = loop.create_future()
    _in_flight[key] = future
    result = RefreshResult(Outcome.BUSY)
    try:
        result = await _refresh_once(ctx, grant_id=grant_id, replacing=replacing)
        return result
    finally:
        del _in_flight[key]
        future.set_result(result)


async def refresh_current(ctx: JobContext, *, grant_id: int) -> RefreshResult:
    """Refresh the grant's current token now, fresh or not (a "refresh now" by hand)."""
    async with ctx.database.transaction() as session:
        generation = await session.scalar(
            select(Grant.token_generation).where(Grant.id == grant_id)
        )
    if generation is None:
        return RefreshResult(Outcome.SKIPPED)
    return await refresh_grant(ctx, grant_id=grant_id, replacing=generation)


async def _refresh_once(ctx: JobContext, *, grant_id: int, replacing: int | None) -> RefreshResult:
    async with ctx.database.transaction() as session:
        grant = await session.get(Grant, grant_id)
        if grant is None or grant.auth_kind is not AuthKind.OAUTH2:
            return RefreshResult(Outcome.SKIPPED)
        if grant.status is not GrantStatus.ACTIVE:
            return RefreshResult(Outcome.SKIPPED)
        force = replacing is not None
        if force and grant.token_generation != replacing:
            return RefreshResult(Outcome.STILL_FRESH)
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
        ttl=lease_ttl(ctx),
    )
    if not await _take(lease, ctx):
        return RefreshResult(Outcome.BUSY)
    try:
        return await _refresh_holding_lease(ctx, grant_id=grant_id, seen=seen, replacing=replacing)
    finally:
        await lease.release()


def lease_ttl(ctx: JobContext) -> timedelta:
    """Longer than the longest refresh: every attempt waiting its full token timeout."""
    attempts = LOST_ANSWER_RETRIES + 1
    return timedelta(seconds=ctx.http.token_timeout_seconds * attempts) + LEASE_SLACK


async def _take(lease: LeaseLock, ctx: JobContext) -> bool:
    waited = 0.0
    while not await lease.acquire(now=ctx.now()):
        if waited >= LEASE_WAIT_SECONDS:
            return False
        await asyncio.sleep(LEASE_POLL_SECONDS)
        waited += LEASE_POLL_SECONDS
    return True


async def _refresh_holding_lease(
    ctx: JobContext, *, grant_id: int, seen: tuple[datetime | None, int], replacing: int | None
) -> RefreshResult:
    async with ctx.database.transaction() as session:
        grant = await session.get(Grant, grant_id, populate_existing=True)
        assert grant is not None
        if grant.status is not GrantStatus.ACTIVE:
            return RefreshResult(Outcome.SKIPPED)
        if replacing is not None and grant.token_generation != replacing:
            # The refused token was replaced while we waited for the lease: use the new one.
            return RefreshResult(Outcome.STILL_FRESH)
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
    attempts = _Attempts()
    try:
        spec = ctx.catalog.get(grant.provider)
        tokens = await _call_token_endpoint(
            ctx, spec=spec, refresh_token=refresh_token, attempts=attempts
        )
    except ProviderFailure as failure:
        recorded, applied = await _record_failure(
            ctx, grant_id=grant_id, failure=failure, lost_answers=attempts.lost_answers
        )
        return RefreshResult(Outcome.FAILED, recorded, applied)
    await _save(ctx, grant_id=grant_id, tokens=tokens, previous=credentials)
    return RefreshResult(Outcome.REFRESHED)


@dataclass
class _Attempts:
    """What one refresh run met at the token endpoint."""

    lost_answers: int = 0
    retries: int = 0


async def _call_token_endpoint(
    ctx: JobContext, *, spec: ProviderSpec, refresh_token: str, attempts: _Attempts
) -> TokenSet:
    """Present the refresh token; after a lost answer, present it again at once, inside the
    provider's reuse grace, until an answer arrives (the rotated token) or the grace is spent."""
    app = ctx.app_credentials(spec.key)
    window = oauth2.oauth_section(spec).refresh_token_reuse_grace_seconds * REUSE_GRACE_SHARE
    # Real seconds, not the job clock: the grace runs on the provider's wall clock.
    first_lost: float | None = None
    while True:
        try:
            return await oauth2.refresh(
                ctx.http, spec, app=app, refresh_token=refresh_token, now=ctx.now()
            )
        except ProviderFailure as failure:
            if not failure.answered:
                attempts.lost_answers += 1
                first_lost = time.monotonic() if first_lost is None else first_lost
            definitive = (
                failure.classification.disconnects
                or failure.error_class is ErrorClass.APP_MISCONFIGURED
            )
            if first_lost is None or definitive:
                # No answer was lost yet (the old token is surely still good), or a final "no".
                raise
            pause = LOST_ANSWER_PAUSE_SECONDS if failure.answered else 0.0
            inside_grace = time.monotonic() + pause - first_lost < window
            if attempts.retries >= LOST_ANSWER_RETRIES or not inside_grace:
                raise
            attempts.retries += 1
            log.warning(
                "grant.refresh.retrying",
                provider=spec.key,
                attempt=attempts.retries,
                lost_answers=attempts.lost_answers,
                error_class=failure.error_class.value,
            )
            if pause:
                await asyncio.sleep(pause)


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
        grant.refresh_answer_lost_at = None
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
    ctx: JobContext, *, grant_id: int, failure: ProviderFailure, lost_answers: int
) -> tuple[ProviderFailure, Applied | None]:
    """Apply a failed refresh; the failure as recorded (reworded when an answer was lost)."""
    now = ctx.now()
    log.warning(
        "grant.refresh.failed",
        grant_id=grant_id,
        error_class=failure.error_class.value,
        provider_code=failure.classification.provider_code,
        lost_answers=lost_answers,
    )
    async with ctx.database.transaction() as session:
        grant = await session.get(Grant, grant_id, populate_existing=True)
        assert grant is not None
        if failure.error_class in GRANT_LEVEL:
            if lost_answers or grant.refresh_answer_lost_at is not None:
                # The provider most likely rotated the token in the answer that never came:
                # say so, rather than that someone revoked access.
                failure = ProviderFailure(
                    after_lost_answer(failure.classification),
                    provider=failure.provider,
                    operation=failure.operation,
                )
            applied = await apply_grant_failure(
                session,
                grant=grant,
                classification=failure.classification,
                now=now,
                actor="system:refresh",
            )
            return failure, applied
        misconfigured: Applied | None = None
        if failure.error_class is ErrorClass.APP_MISCONFIGURED:
            opened = await incidents.open_or_extend(
                session,
                agency_id=grant.agency_id,
                key=incidents.provider_key(grant.provider, ErrorClass.APP_MISCONFIGURED),
                error_class=ErrorClass.APP_MISCONFIGURED,
                provider=grant.provider,
                now=now,
                detail=failure.classification.detail,
                hint=failure.classification.hint,
            )
            misconfigured = Applied(
                ErrorClass.APP_MISCONFIGURED, (), opened.incident.id, opened.created
            )
        if lost_answers and grant.refresh_answer_lost_at is None:
            # Remembered until a refresh succeeds: a later invalid_grant is then explained.
            grant.refresh_answer_lost_at = now
        # Anything else is transient: keep the old token and try again later.
        grant.refresh_failures += 1
        wait = (
            timedelta(seconds=failure.classification.retry_after)
            if failure.classification.retry_after
            else backoff(grant.refresh_failures, rng=ctx.rng)
        )
        grant.next_refresh_at = now + wait
    return failure, misconfigured
