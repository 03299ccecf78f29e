"""Who calls the importer endpoints: a service token of the agency (its permissions decide), or
a staff member or admin by personal token or session (their client access decides)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.api_tokens.errors import ServiceTokenOutsideItsUse
from relink.api_tokens.permissions import IMPORTER, Permission
from relink.api_tokens.service import record_use
from relink.api_tokens.service_tokens import service_token_of
from relink.api_tokens.values import TokenValue
from relink.auth.access import data_source_visible, is_staff_or_admin, scope_of
from relink.dependencies import (
    BearerValue,
    DbSession,
    NotSignedIn,
    Now,
    SessionCookie,
    client_address,
    optional_user,
)
from relink.errors import NotFound
from relink.importers.errors import PersonNotStaff
from relink.models import DataSource, User


@dataclass(frozen=True, slots=True)
class ImporterCaller:
    agency_id: int
    # The event log's actor: "api_token:<id>" or "user:<id>".
    actor: str
    permissions: frozenset[Permission]
    # A person's call sees only their clients' data sources; a service token all the agency's.
    user: User | None = None

    def require(self, permission: Permission) -> None:
        """Refuse (403, naming it) a call its permissions do not cover."""
        if permission not in self.permissions:
            have = ", ".join(sorted(p.value for p in self.permissions))
            raise ServiceTokenOutsideItsUse(permission.value, have)

    async def data_source(
        self, session: AsyncSession, data_source_id: int, *, lock: bool = False
    ) -> DataSource:
        """The caller's data source (not removed); any other id is ``NotFound``, as missing."""
        query = select(DataSource).where(
            DataSource.id == data_source_id,
            DataSource.agency_id == self.agency_id,
            DataSource.removed_at.is_(None),
        )
        if self.user is not None:
            query = query.where(data_source_visible(scope_of(self.user)))
        if lock:
            query = query.with_for_update()
        source = await session.scalar(query)
        if source is None:
            raise NotFound("data source")
        return source


async def importer_caller(
    request: Request, session: DbSession, now: Now, bearer: BearerValue, cookie: SessionCookie
) -> ImporterCaller:
    """The caller of an importer endpoint, or the refusal that says why not.

    What checking the caller wrote (a token's "last used", a session's "last seen") is
    committed here, before the endpoint runs: on SQLite the request would otherwise hold the
    database's one write lock while the refresh it asks for waits for it.
    """
    caller = await _caller(request, session, now, bearer, cookie)
    await session.commit()
    return caller


async def _caller(
    request: Request,
    session: AsyncSession,
    now: datetime,
    bearer: TokenValue | None,
    cookie: str | None,
) -> ImporterCaller:
    if bearer is not None:
        address = await client_address(request)
        service = await service_token_of(session, value=bearer, now=now, address=address)
        if service is not None:
            request.state.api_token_id = service.token_id
            if service.use is not None:
                await record_use(session, token_id=service.token_id, use=service.use)
            return ImporterCaller(service.agency_id, service.actor, service.permissions)
    user = await optional_user(request, session, now, bearer, cookie)
    if user is None:
        raise NotSignedIn()
    if not is_staff_or_admin(user):
        raise PersonNotStaff()
    return ImporterCaller(user.agency_id, f"user:{user.id}", IMPORTER, user)


Caller = Annotated[ImporterCaller, Depends(importer_caller)]
