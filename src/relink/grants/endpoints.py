"""Grants over HTTP: read one, start a reconnect, create a client reconnect link."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Depends, Request

from relink.auth.access import ensure_staff_or_admin
from relink.grants import links, oauth_flow
from relink.grants.schemas import AuthorizeOut, GrantOut, LinkIn, LinkOut
from relink.grants.service import get_grant
from relink.grants.views import grant_view
from relink.kit.row_ids import RowId
from relink.models.base import utcnow
from relink.web.deps import CurrentUser, DbSession, Jobs


async def _agency_staff(user: CurrentUser) -> None:
    """Grants are the agency's business: for a client login none exists (404, not 403)."""
    ensure_staff_or_admin(user, what="grant")


router = APIRouter(prefix="/api/grants", tags=["grants"], dependencies=[Depends(_agency_staff)])


def session_nonce(request: Request) -> str:
    """This browser session's nonce; the state of every sign-in it starts is bound to it."""
    nonce = request.session.get(oauth_flow.SESSION_NONCE_KEY)
    if not isinstance(nonce, str):
        nonce = oauth_flow.new_session_nonce()
        request.session[oauth_flow.SESSION_NONCE_KEY] = nonce
    return nonce


@router.get("/{grant_id}")
async def read_grant(grant_id: RowId, user: CurrentUser, session: DbSession) -> GrantOut:
    return await grant_view(session, user=user, grant_id=grant_id, today=utcnow().date())


@router.post("/{grant_id}/reconnect")
async def start_reconnect(
    grant_id: RowId, request: Request, user: CurrentUser, session: DbSession, jobs: Jobs
) -> AuthorizeOut:
    """Begin re-authorizing a grant; the answer is the provider's consent URL."""
    grant = await get_grant(session, user=user, grant_id=grant_id)
    started = await oauth_flow.start(
        session, ctx=jobs, agency_id=user.agency_id, provider=grant.provider,
        purpose="reconnect", session_nonce=session_nonce(request), now=utcnow(),
        user_id=user.id, grant=grant,
    )  # fmt: skip
    return AuthorizeOut(authorize_url=started.authorize_url)


@router.post("/{grant_id}/reconnect-links", status_code=201)
async def create_link(
    grant_id: RowId, body: LinkIn, user: CurrentUser, session: DbSession, jobs: Jobs
) -> LinkOut:
    """A link for the client's own person, pinned to this grant's login (admins)."""
    link, token = await links.create_link(
        session, user=user, grant_id=grant_id, now=utcnow(), ttl=timedelta(days=body.days),
        note=body.note,
    )  # fmt: skip
    url = links.link_url(jobs.settings.effective_base_url, token)
    return LinkOut(url=url, expires_at=link.expires_at)
