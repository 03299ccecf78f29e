"""Grants over HTTP: read one, start a reconnect, create a client reconnect link.

Served under ``/api/v1`` (documented) and ``/api`` (the pages', hidden): kit/versioned_routes.py.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import Depends, Request

from relink.dependencies import CurrentUser, DbSession, Jobs, Now, SessionNonce, staff_only
from relink.grants import links
from relink.grants.reconnect_start import start_reconnect
from relink.grants.schemas import AuthorizeOut, GrantOut, LinkIn, LinkOut
from relink.grants.views import grant_view
from relink.kit.problems import problem_responses
from relink.kit.row_ids import RowId
from relink.kit.versioned_routes import VersionedRouter

# Grants are the agency's business: for a client login none exists (404, not 403).
routes = VersionedRouter("/grants", tags=["grants"], dependencies=[Depends(staff_only("grant"))])


@routes.get(
    "/{grant_id}",
    operation_id="get_grant",
    summary="Get a grant",
    responses=problem_responses(401, 404, 422, 503),
)
async def read_grant(grant_id: RowId, user: CurrentUser, session: DbSession, now: Now) -> GrantOut:
    """The grant, the data sources on it and the backfills it is running."""
    return await grant_view(session, user=user, grant_id=grant_id, today=now.date())


@routes.post(
    "/{grant_id}/reconnect",
    operation_id="start_grant_reconnect",
    summary="Start reconnecting a grant",
    # 409: the provider does not sign in with OAuth (an API key is replaced instead).
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def reconnect(
    request: Request,
    grant_id: RowId,
    user: CurrentUser,
    session: DbSession,
    jobs: Jobs,
    nonce: SessionNonce,
    now: Now,
) -> AuthorizeOut:
    """Begin re-authorizing a grant: the provider's consent URL for a signed-in browser, and
    for anyone (a script with a token too) the Reconnect page where a person finishes it."""
    url = await start_reconnect(
        session, ctx=jobs, user=user, grant_id=grant_id, session_nonce=nonce, now=now
    )
    page = f"{jobs.settings.effective_base_url.rstrip('/')}/grants/{grant_id}/reconnect"
    by_token = bool(request.headers.get("authorization"))
    return AuthorizeOut(authorize_url=None if by_token else url, reconnect_url=page)


@routes.post(
    "/{grant_id}/reconnect-links",
    status_code=201,
    operation_id="create_grant_reconnect_link",
    summary="Create a client reconnect link",
    responses=problem_responses(401, 403, 404, 422, 503),
)
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
    return LinkOut(id=link.id, url=url, expires_at=link.expires_at)
