"""Client self-service: a link an admin sends to the person who owns the provider login."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.errors import Forbidden, InvalidInput, NotFound
from relink.events import service as events
from relink.grants.errors import CallbackRefused
from relink.grants.oauth_flow import digest
from relink.grants.service import get_grant
from relink.models import Grant, ReconnectLink, Role, User
from relink.providers.taxonomy import AuthKind

DEFAULT_LINK_TTL = timedelta(days=7)
MAX_LINK_TTL = timedelta(days=30)
LINK_PATH = "/r/"


def link_url(base_url: str, token: str) -> str:
    """The absolute link for ``token``, always on the configured ``RELINK_BASE_URL``.

    Never the request's own host: a forged ``Host`` header would otherwise mint a working
    token inside a link to someone else's site.
    """
    return f"{base_url.rstrip('/')}{LINK_PATH}{token}"


class LinkUnusable(CallbackRefused):
    status_code = 410


async def create_link(
    session: AsyncSession,
    *,
    user: User,
    grant_id: int,
    now: datetime,
    ttl: timedelta = DEFAULT_LINK_TTL,
    note: str | None = None,
) -> tuple[ReconnectLink, str]:
    """A single-grant link pinned to the grant's login; the token is shown once."""
    if user.role is not Role.ADMIN:
        raise Forbidden("only an admin can create a reconnect link")
    if ttl <= timedelta(0) or ttl > MAX_LINK_TTL:
        raise InvalidInput("a reconnect link lasts between 1 minute and 30 days")
    grant = await get_grant(session, user=user, grant_id=grant_id)
    if grant.auth_kind is not AuthKind.OAUTH2 or not grant.external_identity:
        raise InvalidInput("only OAuth grants can be reconnected by link")
    token = secrets.token_urlsafe(32)
    link = ReconnectLink(
        agency_id=grant.agency_id,
        grant_id=grant.id,
        created_by=user.id,
        token_hash=digest(token),
        pinned_identity=grant.external_identity,
        note=(note or "").strip()[:200] or None,
        created_at=now,
        expires_at=now + ttl,
    )
    session.add(link)
    await session.flush()
    await events.record(
        session,
        agency_id=grant.agency_id,
        actor=f"user:{user.id}",
        subject_type="grant",
        subject_id=grant.id,
        action="reconnect_link_created",
        details={"link_id": link.id, "expires_at": link.expires_at.isoformat()},
    )
    return link, token


async def usable_link(
    session: AsyncSession, *, token: str, now: datetime
) -> tuple[ReconnectLink, Grant]:
    """The link behind ``token`` if it can still be used, else a clear refusal."""
    link = await session.scalar(
        select(ReconnectLink).where(ReconnectLink.token_hash == digest(token))
    )
    if link is None:
        raise NotFound("reconnect link")
    if link.revoked_at is not None:
        raise LinkUnusable("This reconnect link was withdrawn. Ask your agency for a new one.")
    if link.used_at is not None:
        raise LinkUnusable(
            "This reconnect link was already used. Ask your agency if it still fails."
        )
    if link.expires_at <= now:
        raise LinkUnusable("This reconnect link has expired. Ask your agency for a new one.")
    grant = await session.get(Grant, link.grant_id)
    if grant is None:
        raise NotFound("reconnect link")
    return link, grant
