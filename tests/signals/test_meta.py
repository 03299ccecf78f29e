"""Meta-style Deauthorize Callbacks: only a signed_request signed with our app secret counts."""

from __future__ import annotations

import time

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from relink.sandbox.seed import CLIENT_SECRET
from relink.signals.meta import sign
from relink.status import GrantStatus
from tests.fixtures.demo import Demo
from tests.fixtures.sandbox import SandboxServer
from tests.fixtures.server import Running
from tests.health.conftest import reload_grant
from tests.signals.conftest import HARBOR_SUBJECT, revoke_silently

CALLBACK = "/signals/meta/sandbox/deauthorize"


def post_callback(app_url: str, signed_request: str) -> httpx.Response:
    with httpx.Client(base_url=app_url, timeout=10) as http:
        return http.post(CALLBACK, data={"signed_request": signed_request})


def payload(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "algorithm": "HMAC-SHA256",
        "issued_at": int(time.time()),
        "user_id": HARBOR_SUBJECT,
    }
    return base | overrides


async def _harbor_still_active(session: AsyncSession, demo: Demo) -> None:
    grant = await reload_grant(session, demo.second_grant_id)
    assert grant.status is GrantStatus.ACTIVE


async def test_a_forged_signed_request_changes_nothing(
    session: AsyncSession, demo: Demo, sandbox: SandboxServer, signal_server: Running
) -> None:
    revoke_silently(sandbox, HARBOR_SUBJECT)

    answer = post_callback(signal_server.url, sign(payload(), "not-the-app-secret"))

    assert answer.status_code == 400
    assert answer.json()["err"] == "invalid_key"
    signal_server.stop()
    await _harbor_still_active(session, demo)


async def test_a_signed_request_with_another_algorithm_changes_nothing(
    session: AsyncSession, demo: Demo, sandbox: SandboxServer, signal_server: Running
) -> None:
    revoke_silently(sandbox, HARBOR_SUBJECT)

    answer = post_callback(signal_server.url, sign(payload(algorithm="none"), CLIENT_SECRET))

    assert answer.status_code == 400
    signal_server.stop()
    await _harbor_still_active(session, demo)


async def test_a_stale_signed_request_changes_nothing(
    session: AsyncSession, demo: Demo, sandbox: SandboxServer, signal_server: Running
) -> None:
    revoke_silently(sandbox, HARBOR_SUBJECT)
    stale = payload(issued_at=int(time.time()) - 3600)

    answer = post_callback(signal_server.url, sign(stale, CLIENT_SECRET))

    assert answer.status_code == 400
    signal_server.stop()
    await _harbor_still_active(session, demo)


async def test_a_genuine_signed_request_for_a_revoked_login_disconnects_it(
    session: AsyncSession, demo: Demo, sandbox: SandboxServer, signal_server: Running
) -> None:
    revoke_silently(sandbox, HARBOR_SUBJECT)

    answer = post_callback(signal_server.url, sign(payload(), CLIENT_SECRET))

    assert answer.status_code == 200
    signal_server.stop()
    grant = await reload_grant(session, demo.second_grant_id)
    assert grant.status is GrantStatus.DISCONNECTED
