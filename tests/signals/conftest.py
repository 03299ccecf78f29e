"""The app served against the sandbox with its signal receivers registered there, and an
issuer's key set on a loopback port."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
from joserfc import jwt

from relink.config import get_settings
from relink.sandbox.faults import Fault, FaultKind, new_fault_id
from relink.sandbox.transmitter import TOKENS_REVOKED
from tests.fixtures.app_server import run_app
from tests.fixtures.demo import Demo
from tests.fixtures.jwks_server import JwksServer, running_jwks_server
from tests.fixtures.sandbox import SandboxServer
from tests.fixtures.server import Running

MANAGER_SUBJECT = "sbx-user-1001"
HARBOR_SUBJECT = "sbx-user-1002"
# Generous: a push, a job and two provider calls take well under a second here.
WAIT_SECONDS = 60.0


async def eventually(check: Callable[[], Awaitable[bool]], *, within: float = WAIT_SECONDS) -> None:
    """Poll ``check`` until it holds; fail after ``within`` seconds (a generous bound, not a
    timed assertion)."""
    deadline = time.monotonic() + within
    while not await check():
        assert time.monotonic() < deadline, "the condition never came true"
        await asyncio.sleep(0.1)


def wait_registered(sandbox: SandboxServer, app_url: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    wanted = f"{app_url}/signals/risc"
    while wanted not in sandbox.state.transmitter.streams:
        assert time.monotonic() < deadline, "the app never registered its receiver"
        time.sleep(0.05)


@pytest.fixture
def signal_server(
    demo: Demo,
    database_url: str,
    secret_key: str,
    sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Running]:
    """The demo served on its own address (its base URL), registered with the sandbox; no
    scheduler runs, so nothing but the signals (and the jobs they queue) acts."""
    sandbox.state.transmitter.streams.clear()
    sandbox.state.transmitter.deauthorize_callbacks.clear()
    with run_app(
        monkeypatch,
        database_url=database_url,
        secret_key=secret_key,
        sandbox_url=sandbox.url,
        base_url=None,
    ) as running:
        wait_registered(sandbox, running.url)
        yield running
    get_settings.cache_clear()


def revoke_silently(sandbox: SandboxServer, subject: str) -> None:
    """Revoke at the sandbox without any signal: a check would now find the grant dead."""
    state = sandbox.state
    state.faults.add(
        Fault(
            id=new_fault_id(), kind=FaultKind.REVOKE_GRANT, created_at=state.now(), subject=subject
        )
    )


def sandbox_set(sandbox: SandboxServer, *, subject: str = MANAGER_SUBJECT, **claims: Any) -> str:
    """A SET signed with the sandbox's own key; ``claims`` override the genuine ones."""
    transmitter = sandbox.state.transmitter
    receiver = next(iter(transmitter.streams.values()))
    genuine = transmitter.security_event_token(
        receiver, subject=subject, audience=sandbox.state.client.client_id
    )
    if not claims:
        return genuine
    body = dict(jwt.decode(genuine, transmitter.key).claims) | claims
    header = {"alg": "ES256", "kid": transmitter.key.kid, "typ": "secevent+jwt"}
    return jwt.encode(header, body, transmitter.key)


def events_for(issuer: str, subject: str) -> dict[str, Any]:
    return {TOKENS_REVOKED: {"subject": {"subject_type": "iss-sub", "iss": issuer, "sub": subject}}}


@pytest.fixture
async def jwks_server() -> AsyncIterator[JwksServer]:
    """An issuer's key set on a loopback port that counts the requests it was sent."""
    async with running_jwks_server() as server:
        yield server
