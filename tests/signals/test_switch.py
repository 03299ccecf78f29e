"""Signals can be switched off: the receivers answer 404 and nothing is recorded."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.models import SignalReceipt
from relink.sandbox.transmitter import Receiver
from tests.fixtures.app_server import run_app
from tests.fixtures.demo import Demo
from tests.fixtures.sandbox import SandboxServer
from tests.signals.conftest import MANAGER_SUBJECT


async def test_with_signals_off_a_genuine_set_is_not_received(
    session: AsyncSession,
    demo: Demo,
    database_url: str,
    secret_key: str,
    sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RELINK_SIGNALS_ENABLED", "false")
    transmitter = sandbox.state.transmitter
    receiver = Receiver(url="unused", issuer=sandbox.url)
    token = transmitter.security_event_token(
        receiver, subject=MANAGER_SUBJECT, audience=sandbox.state.client.client_id
    )
    with (
        run_app(
            monkeypatch,
            database_url=database_url,
            secret_key=secret_key,
            sandbox_url=sandbox.url,
            base_url=None,
        ) as running,
        httpx.Client(base_url=running.url, timeout=10) as http,
    ):
        answer = http.post(
            "/signals/risc", content=token, headers={"Content-Type": "application/secevent+jwt"}
        )

    assert answer.status_code == 404
    assert await session.scalar(select(func.count()).select_from(SignalReceipt)) == 0
