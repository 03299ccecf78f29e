"""`relink sandbox ...`: run the sandbox provider and switch its faults on and off.

The fault commands talk to a running sandbox over its admin API, so they work against a
sandbox started anywhere (another terminal, a container).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from relink.sandbox.app import (
    DEFAULT_ACCESS_TOKEN_TTL_SECONDS,
    create_sandbox_app,
    redirect_uris_from_env,
)
from relink.sandbox.faults import FaultKind

DEFAULT_URL = "http://127.0.0.1:8001"
URL_ENV = "RELINK_SANDBOX_URL"
STATE_PATH_ENV = "RELINK_SANDBOX_STATE_PATH"
ADMIN_TIMEOUT_SECONDS = 10.0

sandbox_cli = typer.Typer(help="The sandbox provider: a stand-in ad platform with fault switches.")
fault_cli = typer.Typer(help="Switch faults on and off in a running sandbox.")
sandbox_cli.add_typer(fault_cli, name="fault")

UrlOption = Annotated[
    str, typer.Option("--url", envvar=URL_ENV, help="Base URL of the running sandbox.")
]


def serve(
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8001,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    redirect_uri: Annotated[
        list[str] | None,
        typer.Option(help="Allowed OAuth redirect URI (repeatable); default from the env."),
    ] = None,
    state_path: Annotated[
        Path | None,
        typer.Option(envvar=STATE_PATH_ENV, help="JSON file that keeps state across restarts."),
    ] = None,
    access_token_ttl: Annotated[
        int, typer.Option(help="Access token lifetime in seconds.")
    ] = DEFAULT_ACCESS_TOKEN_TTL_SECONDS,
) -> None:
    """Run the sandbox provider with uvicorn."""
    import uvicorn

    app = create_sandbox_app(
        redirect_uris=redirect_uri or redirect_uris_from_env(),
        access_token_ttl=access_token_ttl,
        state_path=state_path,
    )
    uvicorn.run(app, host=host, port=port, log_level="info")


sandbox_cli.command("serve")(serve)


@fault_cli.command("add")
def fault_add(
    kind: Annotated[FaultKind, typer.Argument(help="What should go wrong.")],
    grant: Annotated[
        str | None, typer.Option(help="Only this identity (subject or e-mail).")
    ] = None,
    account: Annotated[str | None, typer.Option(help="Only this account id.")] = None,
    seconds: Annotated[
        float | None, typer.Option(help="Switch off by itself after this many seconds.")
    ] = None,
    times: Annotated[
        int | None, typer.Option(help="Switch off by itself after this many matching requests.")
    ] = None,
    retry_after: Annotated[
        int | None, typer.Option(help="rate_limit: the Retry-After answered.")
    ] = None,
    delay: Annotated[float | None, typer.Option(help="slow: seconds to wait.")] = None,
    status: Annotated[int | None, typer.Option(help="server_error: 500, 502 or 503.")] = None,
    mode: Annotated[str | None, typer.Option(help="malformed_data: 'types' or 'non_json'.")] = None,
    surface: Annotated[
        str | None, typer.Option(help="Only 'oauth' (token, revoke) or only 'api' calls.")
    ] = None,
    url: UrlOption = DEFAULT_URL,
) -> None:
    """Switch a fault on (rotate_api_key rotates at once and prints the new key)."""
    fields: dict[str, Any] = {
        "kind": kind.value,
        "grant": grant,
        "account": account,
        "seconds": seconds,
        "times": times,
        "retry_after": retry_after,
        "delay": delay,
        "status": status,
        "mode": mode,
        "surface": surface,
    }
    body = {k: v for k, v in fields.items() if v is not None}
    _print(_admin(url, "POST", "/admin/faults", json=body))


@fault_cli.command("list")
def fault_list(url: UrlOption = DEFAULT_URL) -> None:
    """Show the faults switched on."""
    _print(_admin(url, "GET", "/admin/faults"))


@fault_cli.command("clear")
def fault_clear(
    fault_id: Annotated[str | None, typer.Argument(help="One fault id; all when left out.")] = None,
    url: UrlOption = DEFAULT_URL,
) -> None:
    """Switch one fault, or all of them, off."""
    path = f"/admin/faults/{fault_id}" if fault_id else "/admin/faults"
    _print(_admin(url, "DELETE", path))


@sandbox_cli.command("stats")
def stats(url: UrlOption = DEFAULT_URL) -> None:
    """Show the sandbox's request counters."""
    _print(_admin(url, "GET", "/admin/stats"))


@sandbox_cli.command("reset")
def reset(url: UrlOption = DEFAULT_URL) -> None:
    """Put the sandbox back to its seeded world: tokens, keys, faults, counters."""
    _print(_admin(url, "POST", "/admin/reset"))


def _admin(url: str, method: str, path: str, json: dict[str, Any] | None = None) -> Any:
    try:
        answer = httpx.request(
            method, url.rstrip("/") + path, json=json, timeout=ADMIN_TIMEOUT_SECONDS
        )
    except httpx.TransportError as error:
        typer.echo(f"Cannot reach the sandbox at {url}: {error}", err=True)
        raise typer.Exit(2) from error
    body = answer.json() if answer.content else {}
    if answer.is_error:
        typer.echo(f"The sandbox refused ({answer.status_code}): {body}", err=True)
        raise typer.Exit(1)
    return body


def _print(body: Any) -> None:
    typer.echo(json.dumps(body, indent=2))


def main() -> None:
    """`python -m relink.sandbox [--port ...]`: serve, with the same options."""
    typer.run(serve)
