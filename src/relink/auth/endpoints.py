"""Sign in and out, and one's own sessions and password (a signed, HttpOnly, SameSite=Lax cookie).

The cookie carries only a random session token; the ``user_session`` row behind it decides,
on every request, whether it still lets anyone in. A sign-in also leaves a device cookie
(``relink.auth.device_cookie``), which outlives the session.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from relink.auth import sessions, sign_in
from relink.auth.csrf import csrf_token
from relink.auth.device_cookie import presented, remember_device
from relink.auth.schemas import CsrfOut, Me, PasswordChange, SessionOut, SessionsEnded, SignIn
from relink.dependencies import (
    ClientAddress,
    CurrentUser,
    DbSession,
    Jobs,
    Now,
    Throttle,
    forget_sign_in,
    remember_sign_in,
    session_token,
)
from relink.errors import NotFound, RelinkError
from relink.kit.row_ids import RowId

router = APIRouter(tags=["auth"])


class WrongCredentials(RelinkError):
    status_code = 401

    def __init__(self) -> None:
        super().__init__("that e-mail and password do not match an account")


@router.get("/api/session/csrf")
async def session_csrf(request: Request) -> CsrfOut:
    """The token scripts send as X-CSRF-Token with every state-changing request."""
    return CsrfOut(csrf_token=csrf_token(request))


@router.post("/api/session")
async def sign_in_with_password(
    body: SignIn,
    request: Request,
    response: Response,
    session: DbSession,
    throttle: Throttle,
    jobs: Jobs,
    address: ClientAddress,
    now: Now,
) -> Me:
    """Sign in; the answer sets the session cookie and the device cookie."""
    signed_in = await sign_in.sign_in(
        session,
        throttle=throttle,
        email=body.email,
        password=body.password,
        address=address,
        user_agent=request.headers.get("user-agent"),
        device_cookie=presented(request),
        now=now,
    )
    if signed_in is None:
        raise WrongCredentials()
    remember_sign_in(request, signed_in.token)
    remember_device(response, signed_in.device_cookie, secure=jobs.settings.https)
    return Me.of(signed_in.user)


@router.delete("/api/session", status_code=204)
async def sign_out(request: Request, session: DbSession, now: Now) -> None:
    """Sign out: this session ends for every copy of its cookie."""
    await sign_in.sign_out(session, token=session_token(request), now=now)
    forget_sign_in(request)


@router.get("/api/me")
async def me(user: CurrentUser) -> Me:
    return Me.of(user)


@router.post("/api/me/password")
async def change_password(
    body: PasswordChange,
    request: Request,
    user: CurrentUser,
    session: DbSession,
    throttle: Throttle,
    address: ClientAddress,
    now: Now,
) -> SessionsEnded:
    """Change one's own password; every other session of the user ends, this one stays."""
    ended = await sign_in.change_password(
        session,
        throttle=throttle,
        user=user,
        address=address,
        current_password=body.current_password,
        new_password=body.new_password,
        keep_session_id=request.state.user_session_id,
        device_cookie=presented(request),
        now=now,
    )
    return SessionsEnded(ended=ended)


@router.get("/api/sessions")
async def my_sessions(
    request: Request, user: CurrentUser, session: DbSession, now: Now
) -> list[SessionOut]:
    """The signed-in user's live sessions, this one marked ``current``."""
    current = request.state.user_session_id
    return [
        SessionOut(
            id=row.id,
            created_at=row.created_at,
            last_seen_at=row.last_seen_at,
            expires_at=row.expires_at,
            user_agent=row.user_agent,
            address=row.address,
            current=row.id == current,
        )
        for row in await sessions.live_sessions(session, user=user, now=now)
    ]


@router.delete("/api/sessions/{session_id}", status_code=204)
async def end_one_session(
    session_id: RowId, request: Request, user: CurrentUser, session: DbSession, now: Now
) -> None:
    """End one of one's own sessions (another user's id is simply not found)."""
    if not await sessions.end_user_session(session, user=user, session_id=session_id, now=now):
        raise NotFound("session")
    if session_id == request.state.user_session_id:
        forget_sign_in(request)


@router.delete("/api/sessions")
async def sign_out_everywhere(
    request: Request, user: CurrentUser, session: DbSession, now: Now
) -> SessionsEnded:
    """Sign out everywhere, this browser included."""
    ended = await sessions.end_all_sessions(session, user_id=user.id, now=now)
    forget_sign_in(request)
    return SessionsEnded(ended=ended)
