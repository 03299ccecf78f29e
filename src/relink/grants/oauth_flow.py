"""The authorization round trip (DESIGN.md, Reconnect): start, and consume the callback once.

`state` is random, stored only as a hash, single-use, bound to the starting browser session
(a nonce in its cookie) and to the grant, and expires in 10 minutes. PKCE S256 always.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relink.grants.errors import (
    NotReconnectable,
    StateExpired,
    StateNotYours,
    StateUnknown,
    StateUsed,
)
from relink.models import Grant, OAuthState
from relink.providers import oauth2
from relink.providers.taxonomy import AuthKind
from relink.worker.context import JobContext

STATE_TTL = timedelta(minutes=10)
# The session cookie key holding this browser's nonce.
SESSION_NONCE_KEY = "oauth_nonce"
STATE_BYTES = 32


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def new_session_nonce() -> str:
    """Kept in the browser's session cookie; the state row holds only its hash."""
    return secrets.token_urlsafe(24)


@dataclass(frozen=True)
class Started:
    authorize_url: str
    state_id: int


async def start(
    session: AsyncSession,
    *,
    ctx: JobContext,
    agency_id: int,
    provider: str,
    purpose: str,
    session_nonce: str,
    now: datetime,
    user_id: int | None = None,
    grant: Grant | None = None,
    reconnect_link_id: int | None = None,
) -> Started:
    """Record a new state and answer the provider's consent URL for it."""
    spec = ctx.catalog.get(provider)
    if spec.auth is not AuthKind.OAUTH2:
        raise NotReconnectable(f"{spec.display_name} does not sign in with OAuth")
    state = secrets.token_urlsafe(STATE_BYTES)
    verifier = oauth2.new_code_verifier()
    row = OAuthState(
        agency_id=agency_id,
        state_hash=digest(state),
        session_binding_hash=digest(session_nonce),
        user_id=user_id,
        grant_id=grant.id if grant is not None else None,
        reconnect_link_id=reconnect_link_id,
        provider=provider,
        purpose=purpose,
        code_verifier=ctx.box.seal({"verifier": verifier}),
        created_at=now,
        expires_at=now + STATE_TTL,
    )
    session.add(row)
    await session.flush()
    hint = _login_hint(grant)
    url = oauth2.authorization_url(
        spec,
        app=ctx.app_credentials(provider),
        state=state,
        code_verifier=verifier,
        login_hint=hint,
    )
    return Started(authorize_url=url, state_id=row.id)


async def consume(
    session: AsyncSession,
    *,
    state: str,
    session_nonce: str | None,
    user_id: int | None,
    now: datetime,
) -> OAuthState:
    """Check every binding, then spend the state; any failure changes nothing."""
    row = await session.scalar(select(OAuthState).where(OAuthState.state_hash == digest(state)))
    if row is None:
        raise StateUnknown()
    if row.used_at is not None:
        raise StateUsed()
    if row.expires_at <= now:
        raise StateExpired()
    if session_nonce is None or not secrets.compare_digest(
        row.session_binding_hash, digest(session_nonce)
    ):
        raise StateNotYours()
    if row.user_id is not None and row.user_id != user_id:
        raise StateNotYours()
    # Conditional: of two concurrent callbacks with one state, exactly one gets past here.
    spent = await session.execute(
        update(OAuthState)
        .where(OAuthState.id == row.id, OAuthState.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if spent.rowcount != 1:  # type: ignore[attr-defined]
        raise StateUsed()
    row.used_at = now
    return row


def _login_hint(grant: Grant | None) -> str | None:
    if grant is None:
        return None
    for candidate in (grant.identity_name, grant.external_identity):
        if candidate and "@" in candidate:
            return candidate
    return None
