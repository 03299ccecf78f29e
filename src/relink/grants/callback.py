"""The OAuth callback: consume the state once, exchange the code once, then decide by identity.

Each step has its own transaction so no database lock is held while the provider answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import structlog
from sqlalchemy import select

from relink.events import service as events
from relink.grants.detached import wait_briefly
from relink.grants.errors import ExchangeFailed, ProviderDeclined, StateUnknown
from relink.grants.oauth_flow import consume
from relink.grants.reconnect import Repaired, repair_grant
from relink.grants.service import create_grant
from relink.models import Grant, OAuthState, ReconnectLink
from relink.providers import oauth2
from relink.providers.api_auth import api_auth
from relink.providers.data_api import list_accounts
from relink.providers.results import ExternalAccount, ExternalIdentity, ProviderFailure, TokenSet
from relink.providers.taxonomy import AuthKind
from relink.worker.context import JobContext

log = structlog.get_logger(__name__)

Outcome = Literal["reconnected", "identity_mismatch", "connected"]

STILL_FINISHING = (
    "The provider is slow to answer; Relink finishes this sign-in in the background. "
    "Open Data sources in a minute to see it connected."
)


@dataclass(frozen=True)
class CallbackResult:
    outcome: Outcome
    state_id: int
    grant_id: int | None
    provider: str
    identity: ExternalIdentity
    repaired: Repaired | None = None
    accounts: list[ExternalAccount] = field(default_factory=list)


async def complete(
    ctx: JobContext,
    *,
    state: str | None,
    code: str | None,
    error: str | None,
    session_nonce: str | None,
    user_id: int | None,
    now: datetime,
) -> CallbackResult:
    """Handle the provider's redirect back; every refusal leaves everything as it was."""
    if not state:
        raise StateUnknown()
    async with ctx.database.transaction() as session:
        row = await consume(
            session, state=state, session_nonce=session_nonce, user_id=user_id, now=now
        )
        verifier = ctx.box.open(row.code_verifier)["verifier"]
        grant = await session.get(Grant, row.grant_id) if row.grant_id else None
        pinned = await _pinned_identity(session, row)
    if error:
        raise ProviderDeclined(error.replace("_", " "))
    if not code:
        raise ExchangeFailed("no code came back")
    # Outside the request: the code is spent once the provider answers, so a slow answer is
    # waited for in the background and its tokens are stored even if the page stopped waiting.
    return await wait_briefly(
        _exchange_and_store(
            ctx,
            row=row,
            grant=grant,
            pinned=pinned,
            code=code,
            verifier=verifier,
            user_id=user_id,
            now=now,
        ),
        name=f"oauth_callback:{row.id}",
        message=STILL_FINISHING,
    )


async def _exchange_and_store(
    ctx: JobContext,
    *,
    row: OAuthState,
    grant: Grant | None,
    pinned: str | None,
    code: str,
    verifier: str,
    user_id: int | None,
    now: datetime,
) -> CallbackResult:
    """Exchange the code once, read the identity, then bind, repair, or keep it pending."""
    spec = ctx.catalog.get(row.provider)
    try:
        tokens = await oauth2.exchange_code(
            ctx.http,
            spec,
            app=ctx.app_credentials(row.provider),
            code=code,
            code_verifier=verifier,
            now=now,
        )
        identity = await oauth2.identity(ctx.http, spec, tokens=tokens)
        accounts = await list_accounts(ctx.http, spec, auth=api_auth(spec, tokens.as_credentials()))
    except ProviderFailure as failure:
        raise ExchangeFailed(failure.classification.detail or failure.classification.hint) from None
    reachable = {a.id for a in accounts}
    actor = f"user:{user_id}" if user_id else f"reconnect_link:{row.reconnect_link_id}"

    if grant is not None and identity.id != (pinned or grant.external_identity):
        await _keep_pending(ctx, row.id, tokens=tokens, identity=identity, accounts=accounts)
        log.info("grant.reconnect.identity_mismatch", grant_id=grant.id, state_id=row.id)
        return CallbackResult(
            "identity_mismatch", row.id, grant.id, row.provider, identity, accounts=accounts
        )

    async with ctx.database.transaction() as session:
        target = grant and await session.get(Grant, grant.id)
        if target is None:
            target = await grant_for_identity(
                session,
                ctx=ctx,
                agency_id=row.agency_id,
                provider=row.provider,
                identity=identity,
                tokens=tokens,
            )
        repaired = await repair_grant(
            session,
            ctx=ctx,
            grant=target,
            tokens=tokens,
            identity=identity,
            reachable_account_ids=reachable,
            now=now,
            actor=actor,
        )
        if row.reconnect_link_id is not None:
            await _spend_link(session, link_id=row.reconnect_link_id, now=now)
        await events.record(
            session,
            agency_id=row.agency_id,
            actor=actor,
            subject_type="grant",
            subject_id=target.id,
            action="authorized",
            details={
                "purpose": row.purpose,
                "reconnected": list(repaired.reconnected_ids),
                "unreachable": list(repaired.unreachable_ids),
            },
        )
    outcome: Outcome = "reconnected" if grant is not None else "connected"
    log.info(
        "grant.reconnect.done",
        grant_id=repaired.grant_id,
        reconnected=len(repaired.reconnected_ids),
    )
    return CallbackResult(
        outcome, row.id, repaired.grant_id, row.provider, identity, repaired, accounts
    )


async def grant_for_identity(
    session: Any,
    *,
    ctx: JobContext,
    agency_id: int,
    provider: str,
    identity: ExternalIdentity,
    tokens: TokenSet,
) -> Grant:
    """The agency's grant for this login, reused so one re-authorization keeps repairing all."""
    existing: Grant | None = await session.scalar(
        select(Grant).where(
            Grant.agency_id == agency_id,
            Grant.provider == provider,
            Grant.auth_kind == AuthKind.OAUTH2,
            Grant.external_identity == identity.id,
        )
    )
    if existing is not None:
        return existing
    return await create_grant(
        session,
        box=ctx.box,
        agency_id=agency_id,
        provider=provider,
        auth_kind=AuthKind.OAUTH2,
        credentials=tokens.as_credentials(),
        external_identity=identity.id,
        identity_name=identity.email or identity.name,
        scopes=list(tokens.scopes),
        access_expires_at=tokens.expires_at,
    )


async def _keep_pending(
    ctx: JobContext,
    state_id: int,
    *,
    tokens: TokenSet,
    identity: ExternalIdentity,
    accounts: list[ExternalAccount],
) -> None:
    """A different login is never bound silently: its tokens wait, sealed, for a choice."""
    sealed = ctx.box.seal(
        {
            "tokens": {
                **tokens.as_credentials(),
                "expires_at": tokens.expires_at.isoformat() if tokens.expires_at else None,
                "scopes": list(tokens.scopes),
            },
            "identity": {"id": identity.id, "name": identity.name, "email": identity.email},
            "accounts": [
                {"id": a.id, "name": a.name, "manager_id": a.manager_id, "time_zone": a.time_zone}
                for a in accounts
            ],
        }
    )
    async with ctx.database.transaction() as session:
        row = await session.get(OAuthState, state_id)
        assert row is not None
        row.pending = sealed


async def _pinned_identity(session: Any, row: OAuthState) -> str | None:
    if row.reconnect_link_id is None:
        return None
    link: ReconnectLink | None = await session.get(ReconnectLink, row.reconnect_link_id)
    return link.pinned_identity if link is not None else None


async def _spend_link(session: Any, *, link_id: int, now: datetime) -> None:
    link: ReconnectLink | None = await session.get(ReconnectLink, link_id)
    if link is not None and link.used_at is None:
        link.used_at = now
