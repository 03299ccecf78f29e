"""Typed dependencies: the request's unit of work and the signed-in user."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from relink.db import Database
from relink.errors import RelinkError
from relink.models import Role, User
from relink.worker.context import JobContext

SESSION_USER_KEY = "user_id"


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
    user_id = request.session.get(SESSION_USER_KEY)
    if not isinstance(user_id, int):
        return None
    user = await session.get(User, user_id)
    if user is None or not user.is_active:
        request.session.clear()
        return None
    return user


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
