"""Grants over HTTP: read one, start a reconnect, create a client reconnect link."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Depends

from relink.dependencies import CurrentUser, DbSession, Jobs, Now, SessionNonce, staff_only
from relink.grants import links
from relink.grants.reconnect_start import start_reconnect
from relink.grants.schemas import AuthorizeOut, GrantOut, LinkIn, LinkOut
from relink.grants.views import grant_view
from relink.kit.row_ids import RowId

# Grants are the agency's business: for a client login none exists (404, not 403).
router = APIRouter(
    prefix="/api/grants", tags=["grants"], dependencies=[Depends(staff_only("grant"))]
)


@router.get("/{grant_id}")
async def read_grant(grant_id: RowId, user: CurrentUser, session: DbSession, now: Now) -> GrantOut:
    return await grant_view(session, user=user, grant_id=grant_id, today=now.date())


@router.post("/{grant_id}/reconnect")
async def reconnect(
    grant_id: RowId,
    user: CurrentUser,
    session: DbSession,
    jobs: Jobs,
    nonce: SessionNonce,
    now: Now,
) -> AuthorizeOut:
    """Begin re-authorizing a grant; the answer is the provider's consent URL."""
    url = await start_reconnect(
        session, ctx=jobs, user=user, grant_id=grant_id, session_nonce=nonce, now=now
    )
    return AuthorizeOut(authorize_url=url)


@router.post("/{grant_id}/reconnect-links", status_code=201)
async def create_link(
    grant_id: RowId, body: LinkIn, user: CurrentUser, session: DbSession, jobs: Jobs, now: Now
) -> LinkOut:
    """A link for the client's own person, pinned to this grant's login (admins)."""
    link, token = await links.create_link(
        session,
        user=user,
        grant_id=grant_id,
        now=now,
        ttl=timedelta(days=body.days),
        note=body.note,
    )
    url = links.link_url(jobs.settings.effective_base_url, token)
    return LinkOut(url=url, expires_at=link.expires_at)
