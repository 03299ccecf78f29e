"""Typed dependencies shared by the sandbox's routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from relink.sandbox.oauth_server import SandboxAuthorizationServer
from relink.sandbox.state import SandboxState


def sandbox_state(request: Request) -> SandboxState:
    state: SandboxState = request.app.state.sandbox
    return state


def oauth_server(request: Request) -> SandboxAuthorizationServer:
    server: SandboxAuthorizationServer = request.app.state.oauth_server
    return server


Sandbox = Annotated[SandboxState, Depends(sandbox_state)]
OAuthServer = Annotated[SandboxAuthorizationServer, Depends(oauth_server)]
