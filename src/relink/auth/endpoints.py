"""Sign in and sign out (a signed, HttpOnly, SameSite=Lax session cookie)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from relink.auth.csrf import csrf_token
from relink.auth.throttle import LoginThrottle
from relink.errors import RelinkError
from relink.models import User
from relink.models.base import utcnow
from relink.users.service import authenticate
from relink.web.deps import SESSION_USER_KEY, CurrentUser, DbSession

router = APIRouter(tags=["auth"])


class WrongCredentials(RelinkError):
    status_code = 401

    def __init__(self) -> None:
        super().__init__("that e-mail and password do not match an account")


class SignIn(BaseModel):
    email: str
    password: str


class Me(BaseModel):
    id: int
    email: str
    name: str
    role: str


class CsrfOut(BaseModel):
    csrf_token: str


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
    """Check the password under the throttle; on success start a fresh session."""
    address = request.client.host if request.client else "unknown"
    throttle: LoginThrottle = request.app.state.login_throttle
    throttle.check(email=email, address=address)
    user = await authenticate(session, email=email, password=password)
    if user is None:
        throttle.failed(email=email, address=address)
        return None
    throttle.succeeded(email=email, address=address)
    user.last_login_at = utcnow()
    # A new session on sign-in: a session id planted before sign-in is worth nothing after.
    request.session.clear()
    request.session[SESSION_USER_KEY] = user.id
    csrf_token(request)
    return user


@router.delete("/api/session", status_code=204)
async def sign_out(request: Request) -> None:
    request.session.clear()


@router.get("/api/me")
async def me(user: CurrentUser) -> Me:
    return Me(id=user.id, email=user.email, name=user.name, role=user.role.value)
