"""The Reconnect pages: a button, the provider's consent, and what came back."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from relink.grants import adopt, callback, links, oauth_flow
from relink.grants.endpoints import session_nonce
from relink.grants.service import get_grant
from relink.grants.views import different_login_view, grant_view
from relink.kit.row_ids import BoundedId, RowId
from relink.models.base import utcnow
from relink.web.deps import DbSession, Jobs, OptionalUser
from relink.web.pages import login_redirect
from relink.web.templating import templates

router = APIRouter(include_in_schema=False)


@router.get("/grants/{grant_id}/reconnect", response_class=HTMLResponse)
async def reconnect_page(
    grant_id: RowId, request: Request, session: DbSession, user: OptionalUser
) -> Response:
    """What will be repaired, and the one button that does it."""
    if user is None:
        return login_redirect(request)
    view = await grant_view(session, user=user, grant_id=grant_id, today=utcnow().date())
    down = [s for s in view.data_sources if s.status == "disconnected"]
    # Only staff and admins get here: grant_view answers "not found" to a client login.
    context = {"user": user, "grant": view, "down": down}
    return templates.TemplateResponse(request, "reconnect.html", context)


@router.post("/grants/{grant_id}/reconnect")
async def reconnect_start(
    grant_id: RowId, request: Request, session: DbSession, user: OptionalUser, jobs: Jobs
) -> Response:
    if user is None:
        return login_redirect(request)
    grant = await get_grant(session, user=user, grant_id=grant_id)
    started = await oauth_flow.start(
        session, ctx=jobs, agency_id=user.agency_id, provider=grant.provider,
        purpose="reconnect", session_nonce=session_nonce(request), now=utcnow(),
        user_id=user.id, grant=grant,
    )  # fmt: skip
    return RedirectResponse(started.authorize_url, status_code=303)


@router.get("/oauth/callback")
async def oauth_callback(
    request: Request,
    user: OptionalUser,
    jobs: Jobs,
    state: str | None = None,
    code: str | None = None,
    error: str | None = None,
) -> Response:
    """The provider sends the browser back here; a refusal shows why and changes nothing."""
    nonce = request.session.get(oauth_flow.SESSION_NONCE_KEY)
    result = await callback.complete(
        jobs, state=state, code=code, error=error,
        session_nonce=nonce if isinstance(nonce, str) else None,
        user_id=user.id if user else None, now=utcnow(),
    )  # fmt: skip
    if result.outcome == "identity_mismatch":
        if user is None:
            return _client_link_done(request, ok=False)
        return RedirectResponse(f"/oauth/choose/{result.state_id}", status_code=303)
    if user is None:
        return _client_link_done(request, ok=True)
    if result.outcome == "connected":
        # A new connection: next, choose which of the login's accounts go to which client.
        return RedirectResponse(f"/connect/grants/{result.grant_id}/accounts", status_code=303)
    return RedirectResponse(f"/grants/{result.grant_id}/reconnected", status_code=303)


@router.get("/grants/{grant_id}/reconnected", response_class=HTMLResponse)
async def reconnected_page(
    grant_id: RowId, request: Request, session: DbSession, user: OptionalUser
) -> Response:
    if user is None:
        return login_redirect(request)
    view = await grant_view(session, user=user, grant_id=grant_id, today=utcnow().date())
    return templates.TemplateResponse(request, "reconnected.html", {"user": user, "grant": view})


@router.get("/oauth/choose/{state_id}", response_class=HTMLResponse)
async def choose_page(
    state_id: RowId, request: Request, session: DbSession, user: OptionalUser, jobs: Jobs
) -> Response:
    """A different login came back: show what it reaches and what it cannot; bind nothing."""
    if user is None:
        return login_redirect(request)
    view = await different_login_view(session, ctx=jobs, user=user, state_id=state_id)
    context = {
        "user": user,
        "grant": view.grant,
        "identity": view.identity,
        "state_id": state_id,
        "reachable": view.reachable,
        "unreachable": view.unreachable,
    }
    return templates.TemplateResponse(request, "choose.html", context)


@router.post("/oauth/choose/{state_id}")
async def choose(
    state_id: RowId,
    request: Request,
    session: DbSession,
    user: OptionalUser,
    jobs: Jobs,
    data_source: Annotated[list[BoundedId] | None, Form()] = None,
) -> Response:
    if user is None:
        return login_redirect(request)
    repaired = await adopt.adopt(
        session, ctx=jobs, user=user, state_id=state_id,
        data_source_ids=set(data_source or []), now=utcnow(),
    )  # fmt: skip
    return RedirectResponse(f"/grants/{repaired.grant_id}/reconnected", status_code=303)


@router.get("/r/{token}", response_class=HTMLResponse)
async def link_page(token: str, request: Request, session: DbSession) -> Response:
    """A client's person opens the link: a page with a button (opening spends nothing)."""
    link, grant = await links.usable_link(session, token=token, now=utcnow())
    context = {"user": None, "grant": grant, "link": link, "token": token}
    return templates.TemplateResponse(request, "client_link.html", context)


@router.post("/r/{token}")
async def link_start(token: str, request: Request, session: DbSession, jobs: Jobs) -> Response:
    link, grant = await links.usable_link(session, token=token, now=utcnow())
    started = await oauth_flow.start(
        session, ctx=jobs, agency_id=grant.agency_id, provider=grant.provider,
        purpose="client_link", session_nonce=session_nonce(request), now=utcnow(),
        grant=grant, reconnect_link_id=link.id,
    )  # fmt: skip
    return RedirectResponse(started.authorize_url, status_code=303)


def _client_link_done(request: Request, *, ok: bool) -> Response:
    if ok:
        title, message = "Thank you", "The connection is repaired. You can close this page."
    else:
        title, message = (
            "That was a different login",
            "The account you signed in with is not the one this link is for, so nothing was "
            "changed. Sign in with the login your agency connected, or ask them for help.",
        )
    context = {"user": None, "title": title, "message": message}
    return templates.TemplateResponse(
        request, "error.html", context, status_code=200 if ok else 409
    )
