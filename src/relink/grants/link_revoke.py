"""Withdrawing a client reconnect link: from then on it opens nothing (``links.usable_link``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.auth.access import UserScope
from relink.errors import NotFound, RelinkError
from relink.events import service as events
from relink.grants.listing import ensure_admin
from relink.grants.service import get_grant
from relink.models import ReconnectLink


class LinkAlreadyUsed(RelinkError):
    status_code = 409

    def __init__(self) -> None:
        super().__init__("this reconnect link was already used: there is nothing left to withdraw")


async def revoke_link(
    session: AsyncSession, *, scope: UserScope, grant_id: int, link_id: int, now: datetime
) -> ReconnectLink:
    """Withdraw one of the grant's links (admins). Withdrawing one already withdrawn changes
    nothing; a used link cannot be withdrawn (409); a link of another grant, or a grant the
    admin cannot see, is ``NotFound``."""
    ensure_admin(scope, doing="withdraw a reconnect link")
    grant = await get_grant(session, user=scope.user, grant_id=grant_id)
    link = await session.scalar(
        select(ReconnectLink)
        .where(
            ReconnectLink.id == link_id,
            ReconnectLink.grant_id == grant.id,
            ReconnectLink.agency_id == grant.agency_id,
        )
        .with_for_update()
    )
    if link is None:
        raise NotFound("reconnect link")
    if link.revoked_at is not None:
        return link
    if link.used_at is not None:
        raise LinkAlreadyUsed()
    link.revoked_at = now
    await session.flush()
    await events.record(
        session,
        agency_id=grant.agency_id,
        actor=events.user_actor(scope.user),
        subject_type="grant",
        subject_id=grant.id,
        action="reconnect_link_revoked",
        details={"link_id": link.id},
    )
    return link
