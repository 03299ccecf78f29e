"""Starting a reconnect: the one service behind the API's and the pages' Reconnect buttons.

Both ways in (the agency's own user, and a client's person with a reconnect link) record a
single-use ``state`` bound to the browser session and the grant, and answer the provider's
consent URL. What comes back is handled by ``grants/callback.py``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from relink.grants import links, oauth_flow
from relink.grants.service import get_grant
from relink.models import User
from relink.worker.context import JobContext


async def start_reconnect(
    session: AsyncSession,
    *,
    ctx: JobContext,
    user: User,
    grant_id: int,
    session_nonce: str,
    now: datetime,
) -> str:
    """Begin re-authorizing a grant the user may see; the answer is the consent URL."""
    grant = await get_grant(session, user=user, grant_id=grant_id)
    started = await oauth_flow.start(
        session,
        ctx=ctx,
        agency_id=user.agency_id,
        provider=grant.provider,
        purpose="reconnect",
        session_nonce=session_nonce,
        now=now,
        user_id=user.id,
        grant=grant,
    )
    return started.authorize_url


async def start_client_link(
    session: AsyncSession,
    *,
    ctx: JobContext,
    token: str,
    session_nonce: str,
    now: datetime,
) -> str:
    """Begin the reconnect a client's person asked for with a link; the consent URL."""
    link, grant = await links.usable_link(session, token=token, now=now)
    started = await oauth_flow.start(
        session,
        ctx=ctx,
        agency_id=grant.agency_id,
        provider=grant.provider,
        purpose="client_link",
        session_nonce=session_nonce,
        now=now,
        grant=grant,
        reconnect_link_id=link.id,
    )
    return started.authorize_url
