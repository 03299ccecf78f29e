"""A revoked shared grant, told by e-mail: once per person, at a real SMTP server, link works."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession

from relink.config import Settings
from relink.demo import DEMO_PASSWORD
from relink.notifications.email_tasks import compose_due
from relink.worker.context import JobContext
from relink.worker.sweep import sweep
from tests.fixtures.app_server import run_app, signed_in
from tests.fixtures.clock import Clock
from tests.fixtures.demo import Demo
from tests.fixtures.sandbox import SandboxServer
from tests.fixtures.smtp import smtp_server

TOLD = ("admin@demo.relink.test", "staff@demo.relink.test", "limited@demo.relink.test")


async def test_each_told_person_gets_one_email_whose_link_opens_their_notification(
    session: AsyncSession,
    demo: Demo,
    ctx: JobContext,
    sandbox: SandboxServer,
    clock: Clock,
    database_url: str,
    secret_key: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with smtp_server() as smtp:
        ctx.settings = Settings(smtp_url=SecretStr(smtp.url))
        sandbox.add_fault("revoke_grant", grant="manager@sandbox.test")
        await sweep(ctx)
        clock.advance(minutes=3)
        await compose_due(ctx)
        clock.advance(hours=1)
        await sweep(ctx)
        await compose_due(ctx)

    assert sorted(m["To"] for m in smtp.messages) == sorted(TOLD)
    assert smtp.to("client@demo.relink.test") == []
    limited = smtp.to("limited@demo.relink.test")[0]
    text = limited.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "Acme Dental" in text and "Bluebird Bakery" not in text
    link = re.search(r"http://\S+/notifications/\d+", text)
    assert link is not None
    with run_app(
        monkeypatch, database_url=database_url, secret_key=secret_key, sandbox_url=sandbox.url
    ) as app:
        person = signed_in(app.url, "limited@demo.relink.test", DEMO_PASSWORD)
        page = person.get(urlsplit(link.group(0)).path)
    assert page.status_code == 200 and "Reconnect</button>" in page.text
