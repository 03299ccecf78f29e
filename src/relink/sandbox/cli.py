"""`relink sandbox ...`: run the sandbox provider and switch its faults on and off.

The fault commands talk to a running sandbox over its admin API, so they work against a
sandbox started anywhere (another terminal, a container). Where it listens and where the
commands look for it both come from the sandbox's own settings (``RELINK_SANDBOX_HOST``/
``_PORT``/``_URL``, as for ``relink serve --with-sandbox``); options override them.

Only runtime dependencies here: the admin calls are one synchronous request each, which the
standard library's urllib does as well as any client.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import typer

from relink.sandbox.app import (
    DEFAULT_ACCESS_TOKEN_TTL_SECONDS,
    create_sandbox_app,
    redirect_uris_from_env,
)
from relink.sandbox.faults import FaultKind
from relink.sandbox.settings import SandboxSettings

URL_ENV = "RELINK_SANDBOX_URL"
STATE_PATH_ENV = "RELINK_SANDBOX_STATE_PATH"
ADMIN_TIMEOUT_SECONDS = 10.0
# The admin API is plain HTTP(S); anything else (file:, ftp:) is a typo, never fetched.
ADMIN_SCHEMES = frozenset({"http", "https"})

sandbox_cli = typer.Typer(help="The sandbox provider: a stand-in ad platform with fault switches.")
fault_cli = typer.Typer(help="Switch faults on and off in a running sandbox.")
sandbox_cli.add_typer(fault_cli, name="fault")

UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        envvar=URL_ENV,
        help="Base URL of the running sandbox [default: from RELINK_SANDBOX_HOST/_PORT].",
        show_default=False,
    ),
]


def serve(
    port: Annotated[
        int | None, typer.Option(help="Port to listen on [default: RELINK_SANDBOX_PORT, 8001].")
    ] = None,
    host: Annotated[
        str | None,
        typer.Option(help="Interface to bind [default: RELINK_SANDBOX_HOST, 127.0.0.1]."),
    ] = None,
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
    """Run the sandbox provider with uvicorn, where the settings say unless told otherwise."""
    import uvicorn

    settings = SandboxSettings()
    app = create_sandbox_app(
        redirect_uris=redirect_uri or redirect_uris_from_env(),
        access_token_ttl=access_token_ttl,
        state_path=state_path,
    )
    bind_host = host or settings.host
    bind_port = port if port is not None else settings.port
    typer.echo(f"Sandbox provider on http://{bind_host}:{bind_port}")
    # Under `relink sandbox serve` the relink command's handlers (JSON when asked, redacted)
    # apply; run on its own (python -m relink.sandbox) uvicorn's own config does.
    own = None if logging.getLogger().handlers else uvicorn.config.LOGGING_CONFIG
    uvicorn.run(app, host=bind_host, port=bind_port, log_level="info", log_config=own)


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
    url: UrlOption = None,
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
    _print(_admin(url, "POST", "/admin/faults", payload=body))


@fault_cli.command("list")
def fault_list(url: UrlOption = None) -> None:
    """Show the faults switched on."""
    _print(_admin(url, "GET", "/admin/faults"))


@fault_cli.command("clear")
def fault_clear(
    fault_id: Annotated[str | None, typer.Argument(help="One fault id; all when left out.")] = None,
    url: UrlOption = None,
) -> None:
    """Switch one fault, or all of them, off."""
    path = f"/admin/faults/{fault_id}" if fault_id else "/admin/faults"
    _print(_admin(url, "DELETE", path))


@sandbox_cli.command("stats")
def stats(url: UrlOption = None) -> None:
    """Show the sandbox's request counters."""
    _print(_admin(url, "GET", "/admin/stats"))


@sandbox_cli.command("reset")
def reset(url: UrlOption = None) -> None:
    """Put the sandbox back to its seeded world: tokens, keys, faults, counters."""
    _print(_admin(url, "POST", "/admin/reset"))


def _admin(url: str | None, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
    """One call to the sandbox's admin API; exits 2 when it cannot be reached, 1 when refused."""
    base = (url or SandboxSettings().effective_url).rstrip("/")
    if urlsplit(base).scheme not in ADMIN_SCHEMES:
        typer.echo(f"The sandbox URL must start with http:// or https://: {base}", err=True)
        raise typer.Exit(2)
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(  # noqa: S310 -- the scheme is checked above
        base + path,
        data=data,
        method=method,
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=ADMIN_TIMEOUT_SECONDS) as answer:  # noqa: S310
            status, raw = answer.status, answer.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    except OSError as error:  # URLError, refused, timed out: nothing answered
        reason = getattr(error, "reason", error)
        typer.echo(f"Cannot reach the sandbox at {base}: {reason}", err=True)
        raise typer.Exit(2) from error
    body = _parse(raw)
    if status >= 400:
        typer.echo(f"The sandbox refused ({status}): {body}", err=True)
        raise typer.Exit(1)
    return body


def _parse(raw: bytes) -> Any:
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")


def _print(body: Any) -> None:
    typer.echo(json.dumps(body, indent=2))


def main() -> None:
    """`python -m relink.sandbox [--port ...]`: serve, with the same options."""
    typer.run(serve)
