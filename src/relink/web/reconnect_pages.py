"""The Reconnect pages: a button, the provider's consent, and what came back."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from relink.dependencies import (
    DbSession,
    Jobs,
    Now,
    OptionalUser,
    PageUser,
    SessionNonce,
    session_nonce_of,
)
from relink.grants import adopt, callback, links
from relink.grants.reconnect_start import start_client_link, start_reconnect
from relink.grants.views import different_login_view, grant_view
from relink.kit.row_ids import BoundedId, RowId
from relink.web.templating import templates

router = APIRouter(include_in_schema=False)


@router.get("/grants/{grant_id}/reconnect", response_class=HTMLResponse)
async def reconnect_page(
    grant_id: RowId, request: Request, session: DbSession, user: PageUser, now: Now
) -> Response:
    """What will be repaired, and the one button that does it."""
    view = await grant_view(session, user=user, grant_id=grant_id, today=now.date())
    down = [s for s in view.data_sources if s.status == "disconnected"]
    # Only staff and admins get here: grant_view answers "not found" to a client login.
    context = {"user": user, "grant": view, "down": down}
    return templates.TemplateResponse(request, "reconnect.html", context)


@router.post("/grants/{grant_id}/reconnect")
async def reconnect_start(
    grant_id: RowId,
    session: DbSession,
    user: PageUser,
    jobs: Jobs,
    nonce: SessionNonce,
    now: Now,
) -> Response:
    url = await start_reconnect(
        session, ctx=jobs, user=user, grant_id=grant_id, session_nonce=nonce, now=now
    )
    return RedirectResponse(url, status_code=303)


@router.get("/oauth/callback")
async def oauth_callback(
    request: Request,
    user: OptionalUser,
    jobs: Jobs,
    now: Now,
    state: str | None = None,
    code: str | None = None,
    error: str | None = None,
) -> Response:
    """The provider sends the browser back here; a refusal shows why and changes nothing."""
    result = await callback.complete(
        jobs,
        state=state,
        code=code,
        error=error,
        session_nonce=session_nonce_of(request),
        user_id=user.id if user else None,
        now=now,
    )
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
    grant_id: RowId, request: Request, session: DbSession, user: PageUser, now: Now
) -> Response:
    view = await grant_view(session, user=user, grant_id=grant_id, today=now.date())
    return templates.TemplateResponse(request, "reconnected.html", {"user": user, "grant": view})


@router.get("/oauth/choose/{state_id}", response_class=HTMLResponse)
async def choose_page(
    state_id: RowId, request: Request, session: DbSession, user: PageUser, jobs: Jobs
) -> Response:
    """A different login came back: show what it reaches and what it cannot; bind nothing."""
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
    session: DbSession,
    user: PageUser,
    jobs: Jobs,
    now: Now,
    data_source: Annotated[list[BoundedId] | None, Form()] = None,
) -> Response:
    repaired = await adopt.adopt(
        session,
        ctx=jobs,
        user=user,
        state_id=state_id,
        data_source_ids=set(data_source or []),
        now=now,
    )
    return RedirectResponse(f"/grants/{repaired.grant_id}/reconnected", status_code=303)


@router.get("/r/{token}", response_class=HTMLResponse)
async def link_page(token: str, request: Request, session: DbSession, now: Now) -> Response:
    """A client's person opens the link: a page with a button (opening spends nothing)."""
    link, grant = await links.usable_link(session, token=token, now=now)
    context = {"user": None, "grant": grant, "link": link, "token": token}
    return templates.TemplateResponse(request, "client_link.html", context)


@router.post("/r/{token}")
async def link_start(
    token: str, session: DbSession, jobs: Jobs, nonce: SessionNonce, now: Now
) -> Response:
    url = await start_client_link(session, ctx=jobs, token=token, session_nonce=nonce, now=now)
    return RedirectResponse(url, status_code=303)


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
