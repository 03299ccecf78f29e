"""Typed dependencies: the request's unit of work and the signed-in user."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from relink.auth.sessions import resolve_session
from relink.db import Database
from relink.errors import RelinkError
from relink.models import Role, User
from relink.models.base import utcnow
from relink.worker.context import JobContext

# The cookie's key for the session token; the user is found through the ``user_session`` row.
SESSION_ID_KEY = "sid"


class NotSignedIn(RelinkError):
    status_code = 401

    def __init__(self) -> None:
        super().__init__("sign in first")


class AdminOnly(RelinkError):
    status_code = 403

    def __init__(self) -> None:
        super().__init__("only an admin can do this")


async def get_db_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request: committed when the endpoint returns, rolled back on error."""
    database: Database = request.app.state.database
    async with database.transaction() as session:
        yield session


# scope="function": the commit happens when the endpoint returns, BEFORE the response is sent,
# so a client never sees success for a write that then fails to commit.
DbSession = Annotated[AsyncSession, Depends(get_db_session, scope="function")]


async def optional_user(request: Request, session: DbSession) -> User | None:
    """The signed-in user of a live session, or None; an ended session's cookie is cleared."""
    token = request.session.get(SESSION_ID_KEY)
    if not isinstance(token, str):
        return None
    resolved = await resolve_session(session, token=token, now=utcnow())
    if resolved is None:
        request.session.clear()
        return None
    # Endpoints that act on "this session" (sign out, the list of sessions) read its id here.
    request.state.user_session_id = resolved.row.id
    return resolved.user


async def current_user(user: Annotated[User | None, Depends(optional_user)]) -> User:
    if user is None:
        raise NotSignedIn()
    return user


async def current_admin(user: Annotated[User, Depends(current_user)]) -> User:
    if user.role is not Role.ADMIN:
        raise AdminOnly()
    return user


def get_jobs(request: Request) -> JobContext:
    ctx: JobContext = request.app.state.jobs
    return ctx


CurrentUser = Annotated[User, Depends(current_user)]
CurrentAdmin = Annotated[User, Depends(current_admin)]
OptionalUser = Annotated[User | None, Depends(optional_user)]
Jobs = Annotated[JobContext, Depends(get_jobs)]
