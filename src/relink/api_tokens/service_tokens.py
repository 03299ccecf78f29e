"""Service tokens: the agency's, not a person's, for another system (a reporting platform's
importers). A service token has no user and no role: it holds a few permissions
(api_tokens/permissions.py), sees every data source of its agency, and is accepted only by the
importer endpoints (relink.importers). It is rotated without downtime: the new token works at
once and the old one keeps working until the overlap ends.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.api_tokens.errors import UnknownToken
from relink.api_tokens.permissions import Permission, held, stored
from relink.api_tokens.service import SUBJECT, Created, Use, clean_name, ensure_live, use_due
from relink.api_tokens.values import TokenValue, new_value, secret_digest, secret_matches
from relink.errors import InvalidInput, NotFound
from relink.events.service import record
from relink.models import ApiToken, TokenKind, TokenScope

# How long a rotated token keeps working beside its successor unless told otherwise: long
# enough to roll the new value out to every importer, short enough that a leaked one dies.
DEFAULT_OVERLAP = timedelta(hours=24)
MAX_OVERLAP = timedelta(days=30)


@dataclass(frozen=True, slots=True)
class ServiceCaller:
    """A service token that let a request in: its agency and what it may do."""

    token_id: int
    agency_id: int
    permissions: frozenset[Permission]
    use: Use | None = None

    @property
    def actor(self) -> str:
        """The event log's actor for what this token does."""
        return f"{SUBJECT}:{self.token_id}"


async def create_service_token(
    session: AsyncSession,
    *,
    agency_id: int,
    name: str,
    permissions: Iterable[Permission],
    expires_at: datetime | None,
    actor: str,
    now: datetime,
) -> Created:
    """A new service token of the agency; the value is in the answer only."""
    name = clean_name(name, missing="give the token a name that says which system uses it")
    chosen = frozenset(permissions)
    if not chosen:
        raise InvalidInput("a service token needs at least one permission")
    if expires_at is not None and expires_at <= now:
        raise InvalidInput("the expiry must be in the future")
    taken = await session.scalar(
        select(ApiToken.id).where(
            ApiToken.agency_id == agency_id,
            ApiToken.kind == TokenKind.SERVICE,
            ApiToken.name == name,
            ApiToken.revoked_at.is_(None),
        )
    )
    if taken is not None:
        raise InvalidInput(
            f"the agency already has a service token named {name!r}; choose another name, "
            "or rotate that one"
        )
    return await _new(
        session,
        agency_id=agency_id,
        name=name,
        permissions=chosen,
        expires_at=expires_at,
        actor=actor,
        now=now,
        action="api_token.created",
    )


async def rotate_service_token(
    session: AsyncSession,
    *,
    token: ApiToken,
    overlap: timedelta,
    actor: str,
    now: datetime,
) -> Created:
    """A successor with the same name and permissions, working now; ``token`` keeps working
    for ``overlap`` more (two valid at once), then expires."""
    if token.kind is not TokenKind.SERVICE:
        raise InvalidInput("only a service token is rotated; a personal one is replaced")
    if token.revoked_at is not None or (token.expires_at is not None and token.expires_at <= now):
        raise InvalidInput("this token no longer works: create a new one instead of rotating")
    if not timedelta(0) <= overlap <= MAX_OVERLAP:
        raise InvalidInput(f"the overlap is 0 to {MAX_OVERLAP.days} days")
    ends = now + overlap
    token.expires_at = min(token.expires_at, ends) if token.expires_at is not None else ends
    return await _new(
        session,
        agency_id=token.agency_id,
        name=token.name,
        permissions=held(token.permissions),
        expires_at=None,
        actor=actor,
        now=now,
        action="api_token.rotated",
        details={"replaces": token.id, "old_token_expires_at": token.expires_at.isoformat()},
    )


async def _new(
    session: AsyncSession,
    *,
    agency_id: int,
    name: str,
    permissions: frozenset[Permission],
    expires_at: datetime | None,
    actor: str,
    now: datetime,
    action: str,
    details: dict[str, object] | None = None,
) -> Created:
    value = new_value()
    token = ApiToken(
        agency_id=agency_id,
        kind=TokenKind.SERVICE,
        user_id=None,
        name=name,
        # Never a person's write: what it may do is its permissions alone.
        scope=TokenScope.READ,
        permissions=stored(permissions),
        lookup=value.lookup,
        secret_hash=secret_digest(value.secret),
        created_at=now,
        created_by=actor,
        expires_at=expires_at,
    )
    session.add(token)
    await session.flush()
    await record(
        session,
        agency_id=agency_id,
        actor=actor,
        subject_type=SUBJECT,
        subject_id=token.id,
        action=action,
        details={
            "name": name,
            "kind": TokenKind.SERVICE.value,
            "permissions": token.permissions,
            "expires_at": expires_at.isoformat() if expires_at else None,
            **(details or {}),
        },
    )
    return Created(token=token, value=value)


async def list_service_tokens(session: AsyncSession, *, agency_id: int) -> list[ApiToken]:
    """The agency's service tokens not revoked, newest first."""
    return list(
        await session.scalars(
            select(ApiToken)
            .where(
                ApiToken.agency_id == agency_id,
                ApiToken.kind == TokenKind.SERVICE,
                ApiToken.revoked_at.is_(None),
            )
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )


async def agency_service_token(session: AsyncSession, *, agency_id: int, token_id: int) -> ApiToken:
    """One of the agency's service tokens; any other id is ``NotFound``."""
    token = await session.scalar(
        select(ApiToken).where(
            ApiToken.id == token_id,
            ApiToken.agency_id == agency_id,
            ApiToken.kind == TokenKind.SERVICE,
        )
    )
    if token is None:
        raise NotFound("service token")
    return token


async def service_token_of(
    session: AsyncSession, *, value: TokenValue, now: datetime, address: str | None
) -> ServiceCaller | None:
    """The service token of ``value`` as a caller; None when the value is a personal token's
    (or nobody's: the personal path then answers). Refusals are told only to the holder of
    the right secret."""
    token = await session.scalar(
        select(ApiToken).where(ApiToken.lookup == value.lookup, ApiToken.kind == TokenKind.SERVICE)
    )
    if token is None:
        return None
    if not secret_matches(value.secret, token.secret_hash):
        raise UnknownToken()
    ensure_live(token, now=now)
    # "Last used" is the caller's to write (``service.record_use``), when due.
    use = use_due(token, address=address, now=now)
    return ServiceCaller(token.id, token.agency_id, held(token.permissions), use)
