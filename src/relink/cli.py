"""The ``relink`` command: thin wrappers that open a transaction and call services."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from importlib import metadata
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relink import cli_health, cli_status, migrate
from relink.cli_exits import ExitCode, exit_when_database_away
from relink.cli_tokens import tokens_app
from relink.config import Settings, get_settings
from relink.db import default_database
from relink.errors import RelinkError
from relink.kit.crypto import SecretBox, generate_key
from relink.logging import configure_logging
from relink.models import Agency, Role, User
from relink.models.base import utcnow
from relink.notifications.live import RedisBroker, set_broker
from relink.sandbox.cli import sandbox_cli

if TYPE_CHECKING:
    import uvicorn

T = TypeVar("T")

app = typer.Typer(help="Relink keeps data-source connections healthy.", no_args_is_help=True)
db_app = typer.Typer(help="The database schema.", no_args_is_help=True)
keys_app = typer.Typer(help="Secret keys for credentials at rest.", no_args_is_help=True)
users_app = typer.Typer(help="Users and their access.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="keys")
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")

console = Console()
err = Console(stderr=True)
cli_health.register(app)
app.command("status")(cli_status.status)


def _secret_box() -> SecretBox:
    """The box of the configured keys (on SQLite generated into ``var/`` when unset)."""
    try:
        return SecretBox(get_settings().key_list())
    except RelinkError as exc:  # MissingSecretKeys: say what to set, without a traceback
        err.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(code=2) from exc


def package_version() -> str:
    """The installed package's version: pyproject.toml's, as the installer recorded it."""
    return metadata.version("relink")


def _print_version(asked: bool) -> None:
    if asked:
        typer.echo(f"relink {package_version()}")
        raise typer.Exit()


@app.callback()
def _setup(
    _version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print Relink's version and exit.",
        ),
    ] = False,
) -> None:
    configure_logging(json=get_settings().log_json)


def _in_transaction(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async def run() -> T:
        database = default_database()
        # With Redis, what a command changes (a user deactivated, a password reset) reaches
        # every app process at once: their bells answer from memory until told.
        redis_url = get_settings().redis_url
        broker = RedisBroker(redis_url) if redis_url else None
        set_broker(broker)
        try:
            async with database.transaction() as session:
                return await work(session)
        finally:
            set_broker(None)
            if broker is not None:
                await broker.close()
            await database.dispose()

    try:
        with exit_when_database_away():
            return asyncio.run(run())
    except RelinkError as exc:
        err.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(code=ExitCode.USAGE) from exc


@app.command("config")
def show_config() -> None:
    """Print the effective settings, secrets masked."""
    table = Table("setting", "value")
    for name, value in get_settings().masked().items():
        table.add_row(name, value)
    console.print(table)


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Migrate the schema up to REVISION."""
    migrate.upgrade(get_settings().effective_database_url, revision)
    console.print("database is up to date")


@keys_app.command("generate")
def keys_generate() -> None:
    """Print a new key; put it first in RELINK_SECRET_KEYS, then run `relink keys rotate`."""
    console.print(generate_key())


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Re-encrypt every stored secret under the first key of RELINK_SECRET_KEYS."""
    from relink.grants.service import rotate_keys

    box = _secret_box()
    report = _in_transaction(lambda session: rotate_keys(session, box=box))
    console.print(f"re-encrypted {report.rotated} grants under the newest key")
    if report.unreadable:
        err.print(
            f"[yellow]{report.unreadable} grants could not be decrypted with any configured key "
            "and were flagged; they need a reconnect[/yellow]"
        )
        raise typer.Exit(code=1)


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Option(help="Sign-in e-mail")],
    role: Annotated[Role, typer.Option(help="admin, staff or client")],
    name: Annotated[str, typer.Option(help="Display name")] = "",
    agency: Annotated[str, typer.Option(help="Agency slug")] = "northwind",
    all_clients: Annotated[bool, typer.Option(help="Staff: access to every client")] = False,
    client: Annotated[list[int] | None, typer.Option(help="Client id (repeat for staff)")] = None,
    password: Annotated[
        str, typer.Option(prompt=True, confirmation_prompt=True, hide_input=True)
    ] = "",
) -> None:
    """Create a user in an agency."""
    from relink.errors import InvalidInput
    from relink.users.service import create_user

    client_ids = client or []

    async def work(session: AsyncSession) -> str:
        agency_id = await session.scalar(select(Agency.id).where(Agency.slug == agency))
        if agency_id is None:
            raise InvalidInput(f"no agency with slug {agency!r}")
        user = await create_user(
            session,
            agency_id=agency_id,
            email=email,
            name=name,
            password=password,
            role=role,
            all_clients=all_clients,
            client_ids=client_ids if role is Role.STAFF else (),
            client_id=client_ids[0] if role is Role.CLIENT and client_ids else None,
            now=utcnow(),
        )
        return user.email

    console.print(f"created {_in_transaction(work)}")


async def _user_by_email(session: AsyncSession, email: str) -> User:
    from relink.errors import InvalidInput

    user = await session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise InvalidInput(f"no user with e-mail {email!r}")
    return user


@users_app.command("set-password")
def users_set_password(
    email: Annotated[str, typer.Option(help="Sign-in e-mail")],
    password: Annotated[
        str, typer.Option(prompt=True, confirmation_prompt=True, hide_input=True)
    ] = "",
) -> None:
    """Set a user's password; every session they hold ends."""
    from relink.users.service import set_password

    async def work(session: AsyncSession) -> int:
        user = await _user_by_email(session, email)
        return await set_password(session, user=user, password=password, now=utcnow())

    ended = _in_transaction(work)
    console.print(f"password set; {ended} session{'s' if ended != 1 else ''} ended")


@users_app.command("deactivate")
def users_deactivate(email: Annotated[str, typer.Option(help="Sign-in e-mail")]) -> None:
    """Stop a user from signing in; every session they hold ends."""
    from relink.users.service import deactivate_user

    async def work(session: AsyncSession) -> int:
        user = await _user_by_email(session, email)
        return await deactivate_user(session, user=user, now=utcnow())

    ended = _in_transaction(work)
    console.print(f"deactivated; {ended} session{'s' if ended != 1 else ''} ended")


@app.command("demo")
def demo(
    if_empty: Annotated[bool, typer.Option(help="Do nothing when data exists")] = False,
) -> None:
    """Seed the demo agency and print its logins."""
    from relink.demo import DEMO_LOGINS, DEMO_PASSWORD, has_data, seed_demo

    box = _secret_box()

    async def work(session: AsyncSession) -> bool:
        if await has_data(session):
            return False
        await seed_demo(session, box=box)
        return True

    seeded = _in_transaction(work)
    if not seeded:
        if not if_empty:
            err.print("[yellow]the database holds data already; nothing seeded[/yellow]")
            raise typer.Exit(code=1)
        console.print("demo data present")
    # Plain lines, not a table: a narrow terminal must not cut an e-mail someone will copy.
    console.print(f"Demo logins (password for all: {DEMO_PASSWORD}):", highlight=False)
    for login in DEMO_LOGINS:
        console.print(f"  {login.email}  {login.role}, sees {login.sees}", highlight=False)


@app.command("serve")
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address")] = None,
    port: Annotated[int | None, typer.Option(help="Port (RELINK_PORT)")] = None,
    with_sandbox: Annotated[
        bool, typer.Option(help="Also serve the sandbox provider on RELINK_SANDBOX_PORT")
    ] = False,
) -> None:
    """Serve the web app and API; embedded, also the scheduler and jobs (scaled: web and API)."""
    settings = get_settings()
    _secret_box()  # generate the key now, not on the first request
    bind_host, bind_port = host or settings.host, port or settings.port
    console.print(f"Relink on http://{bind_host}:{bind_port}")
    if with_sandbox:
        console.print(f"Sandbox provider on {settings.effective_sandbox_url}")
    asyncio.run(_serve(bind_host, bind_port, with_sandbox=with_sandbox))


def _scaled_settings_or_exit(command: str) -> Settings:
    settings = get_settings()
    if not settings.scaled:
        err.print(
            f"[red]error:[/red] `relink {command}` runs the scaled mode: set RELINK_REDIS_URL and "
            "a PostgreSQL RELINK_DATABASE_URL (the embedded default needs neither: `relink serve`)"
        )
        raise typer.Exit(code=2)
    return settings


@app.command("worker")
def worker(
    concurrency: Annotated[
        int,
        typer.Option(
            min=1,
            help="Imports at once (one process each); with --queues, that node's processes",
        ),
    ] = 2,
    queues: Annotated[
        str | None,
        typer.Option(
            help="Serve only these queues, comma-separated, from one pool: jobs (queued by "
            "requests and signals), periodic (the sweep and periodic jobs), imports (imports "
            "and backfills). Default: one node per queue, so nothing waits behind imports",
        ),
    ] = None,
    name: Annotated[str | None, typer.Option(help="Node name (default relink-<pid>@host)")] = None,
) -> None:
    """Run jobs from Redis (scaled mode): start as many as the load needs, on any machine."""
    import os

    from relink.worker.celery_app import run_node
    from relink.worker.nodes import Supervisor, default_nodes
    from relink.worker.queues import QUEUES

    settings = _scaled_settings_or_exit("worker")
    node_name = name or f"relink-{os.getpid()}@%h"
    if queues is None:
        nodes = default_nodes(concurrency)
        raise typer.Exit(code=Supervisor([node.command(node_name) for node in nodes]).run())
    unknown = sorted(set(queues.split(",")) - set(QUEUES))
    if unknown:
        err.print(f"[red]error:[/red] no queue named {', '.join(unknown)}; there are {QUEUES}")
        raise typer.Exit(code=2)
    run_node(settings, queues=queues, concurrency=concurrency, hostname=node_name)


@app.command("scheduler")
def scheduler() -> None:
    """Send the sweep and the periodic jobs on the sweep interval (scaled mode).

    One scheduler sends; any other started waits as a standby and takes over if it dies.
    """
    import redis

    from relink.worker.celery_app import BEAT_SCHEDULER, create_celery
    from relink.worker.scheduler_lock import SchedulerLease

    settings = _scaled_settings_or_exit("scheduler")
    assert settings.redis_url is not None
    # Made before waiting: a standby that takes over sends at once, not after its imports.
    celery = create_celery(settings)
    lease = SchedulerLease(redis.Redis.from_url(settings.redis_url))
    lease.wait_to_take()
    lease.keep_renewing()
    console.print(f"scheduling every {settings.sweep_interval_seconds:g} s")
    # The in-memory scheduler: every entry is a short interval, so there is no state worth a
    # file; a restarted scheduler simply sends each job once at start (unless one waits).
    try:
        celery.start(["beat", f"--scheduler={BEAT_SCHEDULER}", "--loglevel=INFO"])
    finally:
        lease.release()  # a standby takes over now, not a lease later


def app_server_config(app: Any, *, host: str, port: int, **options: Any) -> uvicorn.Config:
    """Uvicorn's settings for the app: X-Forwarded-* believed from RELINK_TRUSTED_PROXIES only.

    Uvicorn's own default believes them from 127.0.0.1, so anything on the same host, or a
    proxy that passes the header through, could pick the address every per-address limit keys on.
    """
    import uvicorn

    trusted = get_settings().trusted_proxies.strip()
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        proxy_headers=bool(trusted),
        forwarded_allow_ips=trusted or "",
        # Uvicorn's loggers keep the root handler of configure_logging (JSON, redacted).
        log_config=None,
        **options,
    )


async def _serve(host: str, port: int, *, with_sandbox: bool) -> None:
    import uvicorn

    from relink.app import create_app

    settings = get_settings()
    servers = [uvicorn.Server(app_server_config(create_app(), host=host, port=port))]
    if with_sandbox:
        from relink.sandbox.app import create_sandbox_app

        sandbox = create_sandbox_app(
            redirect_uris=[settings.oauth_redirect_uri],
            state_path=settings.var_dir / "sandbox-state.json",
        )
        config = uvicorn.Config(
            sandbox, host=settings.sandbox_host, port=settings.sandbox_port, log_config=None
        )
        servers.append(uvicorn.Server(config))
    await asyncio.gather(*(server.serve() for server in servers))


app.add_typer(sandbox_cli, name="sandbox")
