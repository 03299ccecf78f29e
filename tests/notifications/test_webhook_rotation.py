"""Secret rotation on the Standard Webhooks specification: during the overlap every delivery
carries a signature by each secret, then the old one signs nothing; never more than two."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from relink.kit.crypto import SecretBox
from relink.notifications import webhooks
from relink.notifications.webhook_tasks import deliver_due
from relink.worker.context import JobContext
from tests.fixtures.clock import Clock
from tests.fixtures.demo import Demo
from tests.fixtures.webhook_receiver import Received, WebhookReceiver, relink_event


@pytest.fixture
def ctx(webhooks_ctx: JobContext) -> JobContext:
    """Overrides the shared ``ctx``: webhooks need no sandbox provider."""
    return webhooks_ctx


def _verifies(secret: str, request: Received) -> bool:
    return relink_event(secret, request.body, request.headers) is not None


async def _endpoint(session: AsyncSession, box: SecretBox, demo: Demo, url: str) -> tuple[int, str]:
    endpoint, secret = await webhooks.create_endpoint(
        session, box=box, agency_id=demo.agency.id, url=url, events=[]
    )
    await session.commit()
    return endpoint.id, secret


async def _rotate(
    session: AsyncSession, box: SecretBox, demo: Demo, endpoint_id: int, clock: Clock
) -> str:
    secret = await webhooks.rotate_secret(
        session, box=box, agency_id=demo.agency.id, endpoint_id=endpoint_id, now=clock()
    )
    await session.commit()
    return secret


async def _send(session: AsyncSession, demo: Demo, ctx: JobContext, clock: Clock) -> None:
    await webhooks.emit(
        session,
        agency_id=demo.agency.id,
        event="import.failed",
        items=[{"data_source_id": 1}],
        now=clock(),
    )
    await session.commit()
    await deliver_due(ctx)


async def test_once_the_overlap_is_over_only_the_new_secret_signs(
    session: AsyncSession,
    box: SecretBox,
    demo: Demo,
    ctx: JobContext,
    clock: Clock,
    receiver: WebhookReceiver,
) -> None:
    # The receiver's library checks the timestamp against the real time: rotate in the past.
    overlap = webhooks.ROTATION_GRACE.total_seconds()
    endpoint_id, old = await _endpoint(session, box, demo, receiver.endpoint())
    clock.advance(seconds=-overlap - 1)
    new = await _rotate(session, box, demo, endpoint_id, clock)
    clock.advance(seconds=overlap + 1)

    await _send(session, demo, ctx, clock)

    [request] = receiver.requests
    assert len(request.headers["webhook-signature"].split(" ")) == 1
    assert _verifies(new, request) and not _verifies(old, request)


async def test_just_before_the_overlap_ends_both_secrets_still_verify(
    session: AsyncSession,
    box: SecretBox,
    demo: Demo,
    ctx: JobContext,
    clock: Clock,
    receiver: WebhookReceiver,
) -> None:
    almost = (webhooks.ROTATION_GRACE - timedelta(minutes=1)).total_seconds()
    endpoint_id, old = await _endpoint(session, box, demo, receiver.endpoint())
    clock.advance(seconds=-almost)
    new = await _rotate(session, box, demo, endpoint_id, clock)
    clock.advance(seconds=almost)

    await _send(session, demo, ctx, clock)

    [request] = receiver.requests
    assert _verifies(old, request) and _verifies(new, request)


async def test_a_second_rotation_during_the_overlap_leaves_the_two_newest_signing(
    session: AsyncSession,
    box: SecretBox,
    demo: Demo,
    ctx: JobContext,
    clock: Clock,
    receiver: WebhookReceiver,
) -> None:
    endpoint_id, first = await _endpoint(session, box, demo, receiver.endpoint())
    clock.advance(hours=-1)
    second = await _rotate(session, box, demo, endpoint_id, clock)
    clock.advance(hours=1)
    third = await _rotate(session, box, demo, endpoint_id, clock)

    await _send(session, demo, ctx, clock)

    [request] = receiver.requests
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    assert _verifies(third, request) and _verifies(second, request)
    assert not _verifies(first, request)


async def test_a_rotation_keeps_the_clients_the_endpoint_is_for(
    session: AsyncSession, box: SecretBox, demo: Demo, clock: Clock
) -> None:
    endpoint, _ = await webhooks.create_endpoint(
        session,
        box=box,
        agency_id=demo.agency.id,
        url="https://hooks.example/x",
        events=[],
        client_ids=[demo.clients[0].id],
    )

    await webhooks.rotate_secret(
        session, box=box, agency_id=demo.agency.id, endpoint_id=endpoint.id, now=clock()
    )

    assert webhooks.endpoint_config(box, endpoint).client_ids == [demo.clients[0].id]


async def test_a_chat_endpoint_has_no_secret_to_rotate(
    session: AsyncSession, box: SecretBox, demo: Demo, clock: Clock
) -> None:
    endpoint, _ = await webhooks.create_endpoint(
        session,
        box=box,
        agency_id=demo.agency.id,
        url="https://hooks.slack.example/services/x",
        events=[],
        payload_format="slack",
    )

    with pytest.raises(webhooks.NotSigned, match="not signed"):
        await webhooks.rotate_secret(
            session, box=box, agency_id=demo.agency.id, endpoint_id=endpoint.id, now=clock()
        )
