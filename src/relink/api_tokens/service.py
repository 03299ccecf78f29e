"""Personal API tokens: create (the value returned once), list, revoke, and check one.

A token acts as its user: whoever it authenticates is that ``User``, so the user's role and
client access (auth/access.py) apply to it exactly as to their session. It is checked in the
database with its user, and remembered between checks by token_cache.py: revoking it, or
deactivating its user, is announced after the commit, so it stops on the very next request in
every process.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relink.api_tokens.errors import (
    DeactivatedUser,
    ExpiredToken,
    RevokedToken,
    ServiceTokenNotHere,
    UnknownToken,
)
from relink.api_tokens.values import TokenValue, new_value, secret_digest, secret_matches
from relink.errors import InvalidInput, NotFound
from relink.events.service import record
from relink.models import ApiToken, Role, TokenKind, TokenScope, User
from relink.notifications.live import queue_live_update

NAME_CHARS = 100
# An expiry is a number of days from now; ten years is "no expiry" said the long way.
MAX_EXPIRY_DAYS = 3650
# "Last used" is written at most this often per token (or when the address changes): a script
# polling every second would otherwise turn each of its reads into a write and a commit, and on
# SQLite take the database's one write lock each time. A minute is precise enough for a person
# deciding whether a token is still in use.
USE_WRITE_INTERVAL = timedelta(minutes=1)
ADDRESS_CHARS = 64
SUBJECT = "api_token"


@dataclass(frozen=True)
class Created:
    """A new token's row, and its value: shown once, never stored."""

    token: ApiToken
    value: TokenValue

    def __repr__(self) -> str:
        return f"Created(token_id={self.token.id})"


def parse_scope(text: str) -> TokenScope:
    """``read`` or ``write`` (``read-only`` and ``read-write`` too), else a clear error."""
    cleaned = text.strip().lower()
    aliases = {"read-only": TokenScope.READ, "read-write": TokenScope.WRITE}
    if cleaned in aliases:
        return aliases[cleaned]
    try:
        return TokenScope(cleaned)
    except ValueError:
        raise InvalidInput(f"the scope must be read or write, not {text!r}") from None


def expiry_after(days: int | None, *, now: datetime) -> datetime | None:
    """The expiry ``days`` days from ``now``; None (or no value) never expires."""
    if days is None:
        return None
    if not 1 <= days <= MAX_EXPIRY_DAYS:
        raise InvalidInput(
            f"a token expires in 1 to {MAX_EXPIRY_DAYS} days; leave it empty for no expiry"
        )
    return now + timedelta(days=days)


async def create_token(
    session: AsyncSession,
    *,
    user: User,
    name: str,
    scope: TokenScope,
    expires_at: datetime | None,
    actor: str,
    now: datetime,
) -> Created:
    """A new token of ``user``; the creation is an event naming the token, never its value."""
    name = clean_name(name, missing="give the token a name that says where it is used")
    if not user.is_active:
        raise InvalidInput(f"{user.email} is deactivated; a deactivated user has no tokens")
    if scope is TokenScope.WRITE and user.role is Role.CLIENT:
        raise InvalidInput("a client login is read-only: its tokens can only have the read scope")
    if expires_at is not None and expires_at <= now:
        raise InvalidInput("the expiry must be in the future")
    taken = await session.scalar(
        select(ApiToken.id).where(
            ApiToken.user_id == user.id, ApiToken.name == name, ApiToken.revoked_at.is_(None)
        )
    )
    if taken is not None:
        raise InvalidInput(f"you already have a token named {name!r}; choose another name")
    value = new_value()
    token = ApiToken(
        agency_id=user.agency_id,
        kind=TokenKind.PERSONAL,
        user_id=user.id,
        name=name,
        scope=scope,
        lookup=value.lookup,
        secret_hash=secret_digest(value.secret),
        created_at=now,
        created_by=actor,
        expires_at=expires_at,
    )
    session.add(token)
    await session.flush()
    await _record(session, token, actor=actor, action="api_token.created")
    return Created(token=token, value=value)


async def list_tokens(session: AsyncSession, *, user: User) -> list[ApiToken]:
    """The user's tokens that are not revoked (expired ones too, to be seen and revoked),
    newest first."""
    return list(
        await session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )


async def every_live_token(session: AsyncSession) -> list[tuple[ApiToken, str]]:
    """Every token not revoked, of every agency, with its user's e-mail (None for a service
    token): for the operator's command line only."""
    rows = await session.execute(
        select(ApiToken, User.email)
        .outerjoin(User, User.id == ApiToken.user_id)
        .where(ApiToken.revoked_at.is_(None))
        .order_by(User.email.nulls_first(), ApiToken.created_at.desc(), ApiToken.id.desc())
    )
    return [(token, email) for token, email in rows]


async def own_token(session: AsyncSession, *, user: User, token_id: int) -> ApiToken:
    """One of ``user``'s own tokens; another user's is ``NotFound`` (existence must not leak)."""
    token = await session.scalar(
        select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user.id)
    )
    if token is None:
        raise NotFound("API token")
    return token


async def any_token(session: AsyncSession, *, token_id: int) -> ApiToken:
    """Any agency's token by id: for the operator's command line only."""
    token = await session.get(ApiToken, token_id)
    if token is None:
        raise NotFound("API token")
    return token


async def revoke_token(
    session: AsyncSession, *, token: ApiToken, actor: str, now: datetime
) -> bool:
    """The token stops working now; True when it was live until then (revoking twice is
    not an error, and records nothing more)."""
    if token.revoked_at is not None:
        return False
    token.revoked_at = now
    await session.flush()
    # After the commit every process forgets the user's tokens it remembers (token_cache.py),
    # as a session's end is announced (auth/sessions.py): the token stops on its next request.
    if token.user_id is not None:
        queue_live_update(session, user_ids=[token.user_id])
    await _record(session, token, actor=actor, action="api_token.revoked")
    return True


@dataclass(frozen=True, slots=True)
class Use:
    """A "last used" due to be written: when, and from which address."""

    at: datetime
    address: str | None


@dataclass(frozen=True, slots=True)
class Bearer:
    """A token that let a request in, the user it acts as, and its "last used" if due."""

    token: ApiToken
    user: User
    use: Use | None


async def authenticate(
    session: AsyncSession, *, value: TokenValue, address: str | None, now: datetime
) -> Bearer:
    """The token of ``value`` and its user, or the refusal that says why not.

    One read of the token and its user by the token's public lookup; the secret is then
    compared in constant time. Which refusal is told (revoked, expired, deactivated) only to
    the holder of the right secret: for anyone else every token is just unknown. Nothing is
    written here: the caller writes ``Bearer.use`` when there is one (``note_use``,
    ``record_use``).
    """
    found = (
        await session.execute(
            select(ApiToken, User)
            .outerjoin(User, User.id == ApiToken.user_id)
            .where(ApiToken.lookup == value.lookup)
        )
    ).first()
    if found is None or not secret_matches(value.secret, found[0].secret_hash):
        raise UnknownToken()
    token, user = found
    if token.kind is TokenKind.SERVICE or user is None:
        raise ServiceTokenNotHere()
    ensure_live(token, now=now)
    if not user.is_active:
        raise DeactivatedUser()
    return Bearer(token=token, user=user, use=use_due(token, address=address, now=now))


def ensure_live(token: ApiToken, *, now: datetime) -> None:
    """Refuse a token that was revoked or has expired (told only to the holder of its secret)."""
    if token.revoked_at is not None:
        raise RevokedToken()
    if token.expires_at is not None and token.expires_at <= now:
        raise ExpiredToken()


def clean_name(name: str, *, missing: str) -> str:
    """A token's name with its spaces tidied; ``missing`` says what to name it for."""
    name = " ".join(name.split())
    if not name:
        raise InvalidInput(missing)
    if len(name) > NAME_CHARS:
        raise InvalidInput(f"a token's name has at most {NAME_CHARS} characters")
    return name


def use_due(token: ApiToken, *, address: str | None, now: datetime) -> Use | None:
    """A "last used" to write when the last one is ``USE_WRITE_INTERVAL`` old or the address
    is new; None while the row is fresh enough."""
    address = kept_address(address)
    last = token.last_used_at
    if last is not None and now - last < USE_WRITE_INTERVAL and address == token.last_used_address:
        return None
    return Use(at=now, address=address)


def kept_address(address: str | None) -> str | None:
    """The address as "last used" keeps it (cut to ``ADDRESS_CHARS``; empty is None)."""
    return (address or "")[:ADDRESS_CHARS] or None


def note_use(token: ApiToken, use: Use) -> None:
    """Set "last used" on the loaded row: written with the request's own unit of work, so a
    request does not take the database's write lock before it has to."""
    token.last_used_at = use.at
    token.last_used_address = use.address


async def record_use(session: AsyncSession, *, token_id: int, use: Use) -> None:
    """Write "last used" in ``session`` (a short transaction of its own, for a request that
    otherwise only reads)."""
    await session.execute(
        update(ApiToken)
        .where(ApiToken.id == token_id)
        .values(last_used_at=use.at, last_used_address=use.address)
        .execution_options(synchronize_session=False)
    )


async def _record(session: AsyncSession, token: ApiToken, *, actor: str, action: str) -> None:
    await record(
        session,
        agency_id=token.agency_id,
        actor=actor,
        subject_type=SUBJECT,
        subject_id=token.id,
        action=action,
        details={
            "name": token.name,
            "scope": token.scope.value,
            "user_id": token.user_id,
            "expires_at": token.expires_at.isoformat() if token.expires_at else None,
        },
    )
