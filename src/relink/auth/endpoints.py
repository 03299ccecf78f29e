"""Sign in and out, and one's own sessions and password (a signed, HttpOnly, SameSite=Lax cookie).

The cookie carries only a random session token; the ``user_session`` row behind it decides,
on every request, whether it still lets anyone in.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from relink.auth import sessions
from relink.auth.csrf import csrf_token
from relink.auth.passwords import MAX_EMAIL_LENGTH, MAX_PASSWORD_LENGTH
from relink.auth.throttle import LoginThrottle
from relink.errors import NotFound, RelinkError
from relink.kit.row_ids import RowId
from relink.models import User
from relink.models.base import utcnow
from relink.users.service import authenticate, change_own_password
from relink.web.deps import SESSION_ID_KEY, CurrentUser, DbSession

router = APIRouter(tags=["auth"])


class WrongCredentials(RelinkError):
    status_code = 401

    def __init__(self) -> None:
        super().__init__("that e-mail and password do not match an account")


class SignIn(BaseModel):
    email: str = Field(max_length=MAX_EMAIL_LENGTH)
    password: str = Field(max_length=MAX_PASSWORD_LENGTH)


class Me(BaseModel):
    id: int
    email: str
    name: str
    role: str


class CsrfOut(BaseModel):
    csrf_token: str


class SessionOut(BaseModel):
    id: int
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    user_agent: str | None
    address: str | None
    current: bool


class PasswordChange(BaseModel):
    current_password: str = Field(max_length=MAX_PASSWORD_LENGTH)
    new_password: str = Field(max_length=MAX_PASSWORD_LENGTH)


class SessionsEnded(BaseModel):
    ended: int


def client_address(request: Request) -> str:
    """The peer's address: the proxy's forwarded one only when RELINK_TRUSTED_PROXIES says so.

    The server (uvicorn) rewrites the peer from X-Forwarded-For for trusted proxies alone; no
    header is read here, so a forged one counts for nothing.
    """
    return request.client.host if request.client else "unknown"


@router.get("/api/session/csrf")
async def session_csrf(request: Request) -> CsrfOut:
    """The token scripts send as X-CSRF-Token with every state-changing request."""
    return CsrfOut(csrf_token=csrf_token(request))


@router.post("/api/session")
async def sign_in(body: SignIn, request: Request, session: DbSession) -> Me:
    """Sign in; the answer sets the session cookie."""
    user = await sign_in_user(request, session, email=body.email, password=body.password)
    if user is None:
        raise WrongCredentials()
    return Me(id=user.id, email=user.email, name=user.name, role=user.role.value)


async def sign_in_user(
    request: Request, session: AsyncSession, *, email: str, password: str
) -> User | None:
    """Check the password under the throttle; on success start a fresh server-side session."""
    address = client_address(request)
    throttle: LoginThrottle = request.app.state.login_throttle
    # Reserved before the password is checked (and before this request's transaction holds a
    # connection): parallel guesses each take a place in the count, or are refused unchecked.
    reservation = await throttle.reserve(email=email, address=address)
    user = await authenticate(session, email=email, password=password)
    if user is None:
        return None
    await throttle.succeeded(reservation, session=session)
    now = utcnow()
    user.last_login_at = now
    started = await sessions.start_session(
        session,
        user=user,
        now=now,
        user_agent=request.headers.get("user-agent"),
        address=address,
    )
    # A new cookie on sign-in: a session id planted before sign-in is worth nothing after.
    request.session.clear()
    request.session[SESSION_ID_KEY] = started.token
    csrf_token(request)
    return user


async def sign_out_user(request: Request, session: AsyncSession) -> None:
    """End this browser's session server-side, so a copy of its cookie is dead too."""
    token = request.session.get(SESSION_ID_KEY)
    if isinstance(token, str):
        await sessions.end_session(session, token=token, now=utcnow())
    request.session.clear()


@router.delete("/api/session", status_code=204)
async def sign_out(request: Request, session: DbSession) -> None:
    """Sign out: this session ends for every copy of its cookie."""
    await sign_out_user(request, session)


@router.get("/api/me")
async def me(user: CurrentUser) -> Me:
    return Me(id=user.id, email=user.email, name=user.name, role=user.role.value)


@router.post("/api/me/password")
async def change_password(
    body: PasswordChange, request: Request, user: CurrentUser, session: DbSession
) -> SessionsEnded:
    """Change one's own password; every other session of the user ends, this one stays.

    The current password is checked under the sign-in throttle: a stolen cookie must not be a
    way to guess it without limit.
    """
    throttle: LoginThrottle = request.app.state.login_throttle
    reservation = await throttle.reserve(email=user.email, address=client_address(request))
    ended = await change_own_password(
        session,
        user=user,
        current_password=body.current_password,
        new_password=body.new_password,
        keep_session_id=request.state.user_session_id,
    )
    await throttle.succeeded(reservation, session=session)
    return SessionsEnded(ended=ended)


@router.get("/api/sessions")
async def my_sessions(request: Request, user: CurrentUser, session: DbSession) -> list[SessionOut]:
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
        for row in await sessions.live_sessions(session, user=user, now=utcnow())
    ]


@router.delete("/api/sessions/{session_id}", status_code=204)
async def end_one_session(
    session_id: RowId, request: Request, user: CurrentUser, session: DbSession
) -> None:
    """End one of one's own sessions (another user's id is simply not found)."""
    if not await sessions.end_user_session(session, user=user, session_id=session_id, now=utcnow()):
        raise NotFound("session")
    if session_id == request.state.user_session_id:
        request.session.clear()


@router.delete("/api/sessions")
async def sign_out_everywhere(
    request: Request, user: CurrentUser, session: DbSession
) -> SessionsEnded:
    """Sign out everywhere, this browser included."""
    ended = await sessions.end_all_sessions(session, user_id=user.id, now=utcnow())
    request.session.clear()
    return SessionsEnded(ended=ended)
