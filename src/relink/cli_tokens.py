"""`relink tokens create|list|revoke|rotate`: API tokens from a terminal, personal ones and the
agency's service tokens (``--service``) for another system's importers.

``create`` prints the token's value alone on standard output, once (``TOKEN=$(relink tokens
create …)`` keeps it out of the terminal's scrollback); what was made is said on standard error.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.api_tokens import service as api_tokens
from relink.api_tokens import service_tokens
from relink.api_tokens.permissions import IMPORTER, parse_permissions
from relink.api_tokens.schemas import TokenCreated, TokenOut
from relink.db import default_database
from relink.errors import InvalidInput, RelinkError
from relink.kit.row_ids import MAX_ROW_ID
from relink.models import Role, TokenKind, TokenScope, User
from relink.models.base import utcnow

T = TypeVar("T")

# Who the event log names for what the command line does.
CLI_ACTOR = "system:cli"

tokens_app = typer.Typer(
    help="Personal API tokens for scripts (Authorization: Bearer).", no_args_is_help=True
)
console = Console()
err = Console(stderr=True)


def _run(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """``work`` in one transaction of the configured database; a refusal is one red line."""

    async def run() -> T:
        database = default_database()
        try:
            async with database.transaction() as session:
                return await work(session)
        finally:
            await database.dispose()

    try:
        return asyncio.run(run())
    except RelinkError as exc:
        err.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(code=2) from exc


async def _user_by_email(session: AsyncSession, email: str) -> User:
    user = await session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise InvalidInput(f"no user with e-mail {email!r}")
    return user


@tokens_app.command("create")
def tokens_create(
    email: Annotated[
        str,
        typer.Option(help="The user the token acts as; with --service, the admin creating it"),
    ],
    name: Annotated[str, typer.Option(help="Where it is used, e.g. 'monitoring cron'")],
    scope: Annotated[
        TokenScope, typer.Option(help="read (GET only) or write (whatever the user may do)")
    ] = TokenScope.READ,
    service: Annotated[
        bool,
        typer.Option(
            "--service",
            help="The agency's token for another system's importers, not a person's",
        ),
    ] = False,
    permission: Annotated[
        list[str] | None,
        typer.Option(
            help="A service token's permission (repeat it): read, credentials:read, "
            "failures:write, imports:write; default: all four"
        ),
    ] = None,
    expires_in_days: Annotated[
        int | None,
        typer.Option(
            min=1, max=api_tokens.MAX_EXPIRY_DAYS, help="Days until it stops; none: never"
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the token and its details as one JSON object")
    ] = False,
) -> None:
    """Create a token and print its value, once: it cannot be shown again."""

    async def work(session: AsyncSession) -> TokenCreated:
        user = await _user_by_email(session, email)
        now = utcnow()
        expires_at = api_tokens.expiry_after(expires_in_days, now=now)
        if service:
            if user.role is not Role.ADMIN:
                raise InvalidInput(f"{user.email} is not an admin: only admins create them")
            created = await service_tokens.create_service_token(
                session,
                agency_id=user.agency_id,
                name=name,
                permissions=parse_permissions(permission) if permission else IMPORTER,
                expires_at=expires_at,
                actor=CLI_ACTOR,
                now=now,
            )
            shown = TokenOut.of(created.token, user_email=None).model_dump()
            return TokenCreated(**shown, value=created.value.text)
        if permission:
            raise InvalidInput("--permission is for a service token: add --service")
        created = await api_tokens.create_token(
            session,
            user=user,
            name=name,
            scope=scope,
            expires_at=expires_at,
            actor=CLI_ACTOR,
            now=now,
        )
        shown = TokenOut.of(created.token, user_email=user.email).model_dump()
        return TokenCreated(**shown, value=created.value.text)

    created = _run(work)
    if as_json:
        typer.echo(created.model_dump_json())
        return
    typer.echo(created.value)
    err.print(
        f"created token {created.id} {created.name!r} {_owner(created)} "
        f"({_what_it_may(created)}, {_expiry(created)}); it is shown only this once"
    )


@tokens_app.command("rotate")
def tokens_rotate(
    token_id: Annotated[int, typer.Argument(min=1, max=MAX_ROW_ID, help="The service token")],
    overlap_hours: Annotated[
        float,
        typer.Option(
            min=0,
            max=service_tokens.MAX_OVERLAP.total_seconds() / 3600,
            help="How long the old value keeps working beside the new one",
        ),
    ] = service_tokens.DEFAULT_OVERLAP.total_seconds() / 3600,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the new token and its details as JSON")
    ] = False,
) -> None:
    """Replace a service token without downtime: print the new value (once); the old one
    works until the overlap ends."""

    async def work(session: AsyncSession) -> TokenCreated:
        token = await api_tokens.any_token(session, token_id=token_id)
        created = await service_tokens.rotate_service_token(
            session,
            token=token,
            overlap=timedelta(hours=overlap_hours),
            actor=CLI_ACTOR,
            now=utcnow(),
        )
        shown = TokenOut.of(created.token, user_email=None).model_dump()
        return TokenCreated(**shown, value=created.value.text)

    created = _run(work)
    if as_json:
        typer.echo(created.model_dump_json())
        return
    typer.echo(created.value)
    err.print(
        f"token {token_id} is replaced by token {created.id} {created.name!r}; the old value "
        f"works for {overlap_hours:g} more hours; the new one is shown only this once"
    )


@tokens_app.command("list")
def tokens_list(
    email: Annotated[
        str | None, typer.Option(help="Only this user's tokens (default: every user's)")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print a JSON array instead of a table")
    ] = False,
) -> None:
    """List the tokens that are not revoked (never their values)."""

    async def work(session: AsyncSession) -> list[TokenOut]:
        if email is None:
            rows = await api_tokens.every_live_token(session)
        else:
            user = await _user_by_email(session, email)
            rows = [(t, user.email) for t in await api_tokens.list_tokens(session, user=user)]
        return [TokenOut.of(token, user_email=owner) for token, owner in rows]

    tokens = _run(work)
    if as_json:
        typer.echo(json.dumps([token.model_dump(mode="json") for token in tokens]))
        return
    table = Table("id", "user", "name", "scope", "created", "expires", "last used", "from")
    for token in tokens:
        table.add_row(
            str(token.id),
            token.user_email or "(service)",
            token.name,
            _what_it_may(token),
            f"{token.created_at:%Y-%m-%d %H:%M}",
            f"{token.expires_at:%Y-%m-%d}" if token.expires_at else "never",
            f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never",
            token.last_used_address or "",
        )
    console.print(table)


@tokens_app.command("revoke")
def tokens_revoke(
    token_id: Annotated[int, typer.Argument(min=1, max=MAX_ROW_ID, help="The token's id")],
) -> None:
    """Revoke a token by its id: scripts that send it are refused from then on."""

    async def work(session: AsyncSession) -> tuple[TokenOut, bool]:
        token = await api_tokens.any_token(session, token_id=token_id)
        revoked = await api_tokens.revoke_token(session, token=token, actor=CLI_ACTOR, now=utcnow())
        owner = await session.get(User, token.user_id) if token.user_id is not None else None
        return TokenOut.of(token, user_email=owner.email if owner else None), revoked

    token, revoked = _run(work)
    if revoked:
        console.print(f"revoked token {token.id} {token.name!r} {_owner(token)}")
    else:
        console.print(f"token {token.id} {token.name!r} was already revoked")


def _what_it_may(token: TokenOut) -> str:
    if token.kind is TokenKind.SERVICE:
        return " ".join(token.permissions)
    return "read and write" if token.scope is TokenScope.WRITE else "read-only"


def _owner(token: TokenOut) -> str:
    return "of the agency" if token.kind is TokenKind.SERVICE else f"for {token.user_email}"


def _expiry(token: TokenOut) -> str:
    return f"expires {token.expires_at:%Y-%m-%d}" if token.expires_at else "no expiry"
