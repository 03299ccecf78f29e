"""Grants: creation, sealed credentials, and what a user may see of them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.auth.access import (
    data_source_visible,
    ensure_staff_or_admin,
    is_staff_or_admin,
    scope_of,
)
from relink.errors import CredentialsUnreadable, NotFound
from relink.events import service as events
from relink.kit.crypto import SecretBox
from relink.models import DataSource, Grant, Role, User
from relink.models.base import utcnow
from relink.providers.taxonomy import AuthKind

log = structlog.get_logger(__name__)

ROTATE_BATCH_SIZE = 500


async def create_grant(
    session: AsyncSession,
    *,
    box: SecretBox,
    agency_id: int,
    provider: str,
    auth_kind: AuthKind,
    credentials: dict[str, Any],
    external_identity: str | None = None,
    identity_name: str | None = None,
    scopes: list[str] | None = None,
    access_expires_at: datetime | None = None,
) -> Grant:
    grant = Grant(
        agency_id=agency_id,
        provider=provider,
        auth_kind=auth_kind,
        external_identity=external_identity,
        identity_name=identity_name,
        credentials=box.seal(credentials),
        scopes=scopes or [],
        access_expires_at=access_expires_at,
    )
    session.add(grant)
    await session.flush()
    return grant


async def open_credentials(
    session: AsyncSession, *, box: SecretBox, grant: Grant
) -> dict[str, Any]:
    """The grant's credentials; on a bad ciphertext the grant is flagged and the error raised."""
    try:
        return box.open(grant.credentials)
    except CredentialsUnreadable:
        await _flag_unreadable(session, grant=grant)
        raise


def store_credentials(*, box: SecretBox, grant: Grant, credentials: dict[str, Any]) -> None:
    """Seal new credentials onto the grant (the caller flushes with the rest of its change)."""
    grant.credentials = box.seal(credentials)
    grant.token_generation = (grant.token_generation or 0) + 1
    grant.credentials_unreadable_at = None


@dataclass(frozen=True)
class RotationReport:
    rotated: int
    unreadable: int


async def rotate_keys(session: AsyncSession, *, box: SecretBox) -> RotationReport:
    """Re-seal every grant's credentials under the newest key, in id-ordered batches."""
    rotated = unreadable = 0
    last_id = 0
    while True:
        batch = list(
            await session.scalars(
                select(Grant).where(Grant.id > last_id).order_by(Grant.id).limit(ROTATE_BATCH_SIZE)
            )
        )
        if not batch:
            break
        for grant in batch:
            try:
                grant.credentials = box.rotate(grant.credentials)
                rotated += 1
            except CredentialsUnreadable:
                await _flag_unreadable(session, grant=grant)
                unreadable += 1
        await session.flush()
        last_id = batch[-1].id
    return RotationReport(rotated=rotated, unreadable=unreadable)


async def list_grants(session: AsyncSession, *, user: User) -> list[Grant]:
    """Admins see every grant; staff the grants serving a client they may see; clients none."""
    if not is_staff_or_admin(user):
        return []
    query = select(Grant).where(Grant.agency_id == user.agency_id).order_by(Grant.id)
    if user.role is not Role.ADMIN:
        query = query.where(Grant.id.in_(_visible_grant_ids(user)))
    return list(await session.scalars(query))


async def get_grant(session: AsyncSession, *, user: User, grant_id: int) -> Grant:
    """One grant the user may see, or ``NotFound`` (always, for a client login)."""
    ensure_staff_or_admin(user, what="grant")
    query = select(Grant).where(Grant.id == grant_id, Grant.agency_id == user.agency_id)
    if user.role is not Role.ADMIN:
        query = query.where(Grant.id.in_(_visible_grant_ids(user)))
    grant = await session.scalar(query)
    if grant is None:
        raise NotFound("grant")
    return grant


def _visible_grant_ids(user: User) -> Any:
    return select(DataSource.grant_id).where(data_source_visible(scope_of(user)))


async def _flag_unreadable(session: AsyncSession, *, grant: Grant) -> None:
    if grant.credentials_unreadable_at is None:
        grant.credentials_unreadable_at = utcnow()
        log.error("grant.credentials.unreadable", grant_id=grant.id, provider=grant.provider)
        await events.record(
            session,
            agency_id=grant.agency_id,
            actor="system:crypto",
            subject_type="grant",
            subject_id=grant.id,
            action="credentials_unreadable",
            reason="stored credentials failed to decrypt",
        )
    await session.flush()
