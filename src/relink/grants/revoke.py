"""Revoking a grant nobody uses any more: at the provider (RFC 7009), then in Relink.

Never while a data source still uses it: the check is made when the job runs, not when it was
queued, and again after the provider call, because a restore may have raced it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.errors import CredentialsUnreadable, RelinkError
from relink.grants.service import open_credentials, store_credentials
from relink.kit.crypto import SecretBox
from relink.models import DataSource, Grant
from relink.providers import oauth2
from relink.providers.results import ProviderFailure
from relink.providers.taxonomy import GRANT_LEVEL, AuthKind, ErrorClass
from relink.status import DataSourceStatus, GrantStatus
from relink.status_writer import may_become_data_source, transition_many
from relink.worker.context import JobContext

log = structlog.get_logger(__name__)

ACTOR = "system:revoke"
REVOKED_DETAIL = "Relink revoked this sign-in when its last data source was disconnected."


class Outcome(enum.StrEnum):
    REVOKED = "revoked"
    # Another data source uses the grant (or came back from the trash): left alone.
    IN_USE = "in_use"
    ALREADY_REVOKED = "already_revoked"
    NOT_FOUND = "not_found"
    # The provider could not be asked; the grant is left as it was for a later try.
    FAILED = "failed"


@dataclass(frozen=True)
class RevokeResult:
    grant_id: int
    outcome: Outcome
    # True when the provider was told (OAuth); API keys have nothing to revoke there.
    at_provider: bool = False


async def revoke_unused_grant(ctx: JobContext, *, grant_id: int) -> RevokeResult:
    """Revoke ``grant_id`` at its provider and mark it revoked, unless something still uses it."""
    async with ctx.database.transaction() as session:
        grant = await session.get(Grant, grant_id)
        if grant is None:
            return RevokeResult(grant_id, Outcome.NOT_FOUND)
        if grant.status is GrantStatus.REVOKED:
            return RevokeResult(grant_id, Outcome.ALREADY_REVOKED)
        if await _users(session, grant_id=grant_id):
            return RevokeResult(grant_id, Outcome.IN_USE)
        provider = grant.provider
        token, hint = await _revocable_token(session, ctx=ctx, grant=grant)
    told = False
    if token is not None:
        try:
            spec = ctx.catalog.get(provider)
            app = ctx.app_credentials(provider)
            await oauth2.revoke(ctx.http, spec, app=app, token=token, hint=hint)
            told = True
        except ProviderFailure as failure:
            # invalid_grant: the token was dead already, which is what we wanted.
            if failure.error_class not in GRANT_LEVEL:
                log.warning(
                    "grant.revoke.failed",
                    grant_id=grant_id,
                    provider=provider,
                    error_class=failure.error_class.value,
                )
                return RevokeResult(grant_id, Outcome.FAILED)
        except RelinkError as exc:
            log.warning(
                "grant.revoke.failed",
                grant_id=grant_id,
                provider=provider,
                error=type(exc).__name__,
            )
            return RevokeResult(grant_id, Outcome.FAILED)
    async with ctx.database.transaction() as session:
        grant = await session.get(Grant, grant_id, with_for_update=True, populate_existing=True)
        if grant is None:
            return RevokeResult(grant_id, Outcome.NOT_FOUND)
        now = ctx.now()
        if grant.status is not GrantStatus.REVOKED:
            await _mark_revoked(session, box=ctx.box, grant=grant, now=now)
        # A restore that slipped in while the provider was being told cannot use a dead grant.
        await transition_many(
            session,
            [s.id for s in await _users(session, grant_id=grant_id)],
            to=DataSourceStatus.DISCONNECTED,
            only_from=may_become_data_source(DataSourceStatus.DISCONNECTED)
            - {DataSourceStatus.REMOVED},
            error_class=ErrorClass.AUTH_REVOKED,
            detail=REVOKED_DETAIL,
            actor=ACTOR,
            now=now,
        )
    log.info("grant.revoked", grant_id=grant_id, provider=provider, at_provider=told)
    return RevokeResult(grant_id, Outcome.REVOKED, at_provider=told)


async def _revocable_token(
    session: AsyncSession, *, ctx: JobContext, grant: Grant
) -> tuple[str | None, str]:
    """The refresh token (it ends the whole grant at most providers), else the access token."""
    if grant.auth_kind is not AuthKind.OAUTH2:
        return None, ""
    spec = ctx.catalog.get(grant.provider)
    if spec.oauth is None or spec.oauth.revoke_url is None:
        return None, ""
    try:
        credentials = await open_credentials(session, box=ctx.box, grant=grant)
    except CredentialsUnreadable:
        # Nothing we can send; the grant is still ended on our side.
        return None, ""
    if credentials.get("refresh_token"):
        return str(credentials["refresh_token"]), "refresh_token"
    if credentials.get("access_token"):
        return str(credentials["access_token"]), "access_token"
    return None, ""


async def _mark_revoked(
    session: AsyncSession, *, box: SecretBox, grant: Grant, now: datetime
) -> None:
    await transition_many(
        session,
        [grant.id],
        to=GrantStatus.REVOKED,
        error_class=ErrorClass.AUTH_REVOKED,
        detail=REVOKED_DETAIL,
        actor=ACTOR,
        now=now,
    )
    grant.next_refresh_at = None
    if grant.auth_kind is AuthKind.OAUTH2:
        # The tokens are dead at the provider: nothing worth keeping, even sealed.
        store_credentials(box=box, grant=grant, credentials={})


async def _users(session: AsyncSession, *, grant_id: int) -> list[DataSource]:
    """The data sources still using the grant: anything not in the trash."""
    return list(
        await session.scalars(
            select(DataSource).where(
                DataSource.grant_id == grant_id, DataSource.status != DataSourceStatus.REMOVED
            )
        )
    )
