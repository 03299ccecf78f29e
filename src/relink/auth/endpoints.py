"""Sign in and sign out (a signed, HttpOnly, SameSite=Lax session cookie)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel

from relink.errors import RelinkError
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


@router.post("/api/session")
async def sign_in(body: SignIn, request: Request, session: DbSession) -> Me:
    """Sign in; the answer sets the session cookie."""
    user = await authenticate(session, email=body.email, password=body.password)
    if user is None:
        raise WrongCredentials()
    user.last_login_at = utcnow()
    request.session.clear()
    request.session[SESSION_USER_KEY] = user.id
    return Me(id=user.id, email=user.email, name=user.name, role=user.role.value)


@router.delete("/api/session", status_code=204)
async def sign_out(request: Request) -> None:
    request.session.clear()


@router.get("/api/me")
async def me(user: CurrentUser) -> Me:
    return Me(id=user.id, email=user.email, name=user.name, role=user.role.value)
