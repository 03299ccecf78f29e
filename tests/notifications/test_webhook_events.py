"""The health engine's events reach webhook endpoints: a revoked grant, a failed import."""

from __future__ import annotations

import json

from sqlalchemy.ext.asyncio import AsyncSession
from standardwebhooks.webhooks import Webhook

from relink.kit.crypto import SecretBox
from relink.notifications import webhooks
from relink.notifications.webhook_tasks import deliver_due
from relink.providers.http import HttpClient
from relink.sandbox import seed
from relink.worker.context import JobContext
from relink.worker.sweep import sweep
from tests.fixtures.demo import Demo
from tests.fixtures.sandbox import SandboxServer
from tests.fixtures.webhook_receiver import running_receiver


async def test_a_revoked_grant_posts_one_signed_disconnect_event_per_data_source(
    session: AsyncSession, demo: Demo, ctx: JobContext, box: SecretBox, sandbox: SandboxServer
) -> None:
    ctx.http = HttpClient()  # the receiver may be slow on a busy machine; no timeout games here
    async with running_receiver() as receiver:
        _, secret = await webhooks.create_endpoint(
            session,
            box=box,
            agency_id=demo.agency.id,
            url=receiver.endpoint(),
            events=["data_source.disconnected"],
        )
        await session.commit()
        sandbox.add_fault("revoke_grant", grant="manager@sandbox.test")

        await sweep(ctx)
        await deliver_due(ctx)

    assert len(receiver.requests) == 8
    for request in receiver.requests:
        body = Webhook(secret).verify(request.body, dict(request.headers))
        assert body["type"] == "data_source.disconnected"
        assert body["data"]["action_url"].endswith(f"/grants/{demo.shared_grant_id}/reconnect")
    names = {json.loads(r.body)["data"]["client_name"] for r in receiver.requests}
    assert "Acme Dental" in names and len(names) == 8


async def test_malformed_data_posts_import_failed(
    session: AsyncSession, demo: Demo, ctx: JobContext, box: SecretBox, sandbox: SandboxServer
) -> None:
    ctx.http = HttpClient()
    async with running_receiver() as receiver:
        await webhooks.create_endpoint(
            session, box=box, agency_id=demo.agency.id, url=receiver.endpoint(), events=[]
        )
        await session.commit()
        sandbox.add_fault("malformed_data", account=seed.SECOND_ACCOUNTS[0].id)

        await sweep(ctx)
        await deliver_due(ctx)

    events = [json.loads(r.body)["type"] for r in receiver.requests]
    assert events == ["import.failed"]
