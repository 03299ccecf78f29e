"""The sandbox provider's ASGI app: a real OAuth 2.0 server and data API with fault switches."""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from relink.sandbox import account_page, admin, data_api, oauth_endpoints, risc
from relink.sandbox.errors import ApiError, render_api_error
from relink.sandbox.fault_gate import FaultAnswer, call_with_drops, render_fault_answer
from relink.sandbox.oauth_server import SandboxAuthorizationServer
from relink.sandbox.seed import World
from relink.sandbox.state import SandboxState

DEFAULT_REDIRECT_URIS = ("http://127.0.0.1:8000/oauth/callback",)
REDIRECT_URIS_ENV = "RELINK_SANDBOX_REDIRECT_URIS"
DEFAULT_ACCESS_TOKEN_TTL_SECONDS = 3600


def redirect_uris_from_env() -> list[str]:
    """The env's comma-separated list, or the URI of a locally run Relink."""
    raw = os.environ.get(REDIRECT_URIS_ENV, "")
    uris = [uri.strip() for uri in raw.split(",") if uri.strip()]
    return uris or list(DEFAULT_REDIRECT_URIS)


class SandboxApp(FastAPI):
    """FastAPI, plus the one thing middleware cannot do: drop an answer and cut the connection.

    It must sit outermost, where uvicorn's own `receive` (which knows the transport) arrives.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        await call_with_drops(super().__call__, self.state.sandbox, scope, receive, send)


def create_sandbox_app(
    *,
    world: World | None = None,
    redirect_uris: list[str],
    access_token_ttl: int = DEFAULT_ACCESS_TOKEN_TTL_SECONDS,
    state_path: Path | None = None,
) -> FastAPI:
    state = SandboxState(
        world=world or World(),
        redirect_uris=redirect_uris,
        access_token_ttl=access_token_ttl,
        state_path=state_path,
    )
    app = SandboxApp(title="Relink sandbox provider", version="1")
    app.state.sandbox = state
    app.state.oauth_server = SandboxAuthorizationServer(state)
    app.include_router(oauth_endpoints.router)
    app.include_router(data_api.router)
    app.include_router(admin.router)
    app.include_router(risc.router)
    app.include_router(account_page.router)
    app.add_exception_handler(ApiError, render_api_error)
    app.add_exception_handler(FaultAnswer, render_fault_answer)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
