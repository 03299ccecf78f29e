from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession
from structlog.testing import capture_logs

from relink.db import Database
from relink.errors import InvalidInput, NotFound
from relink.kit.crypto import SecretBox
from relink.kit.retry import MAX_ATTEMPTS, RETRY_SCHEDULE
from relink.models import WebhookDelivery, WebhookEndpoint
from relink.notifications import webhook_deliveries, webhooks
from relink.notifications.chat_messages import slack_message, teams_message
from relink.notifications.webhook_tasks import deliver_due, deliver_one
from relink.worker.context import JobContext
from relink.worker.enqueue import QueuedJob, set_dispatcher
from tests.fixtures.clock import Clock
from tests.fixtures.demo import Demo
from tests.fixtures.webhook_receiver import WebhookReceiver, relink_event

DISCONNECTED = {
    "data_source_id": 41,
    "client_name": "Acme Dental",
    "provider": "google_ads",
    "provider_name": "Google Ads",
    "reason": "the sign-in was revoked",
    "action_url": "https://relink.example/reconnect/41",
}


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ctx(webhooks_ctx: JobContext) -> JobContext:
    """Overrides the shared ``ctx``: webhooks need no sandbox provider."""
    return webhooks_ctx


async def add_endpoint(
    session: AsyncSession,
    box: SecretBox,
    demo: Demo,
    url: str,
    *,
    events: tuple[str, ...] = (),
    payload_format: str = "json",
) -> tuple[WebhookEndpoint, str]:
    endpoint, secret = await webhooks.create_endpoint(
        session,
        box=box,
        agency_id=demo.agency.id,
        url=url,
        events=list(events),
        payload_format=payload_format,
    )
    await session.commit()
    return endpoint, secret


async def emit(
    session: AsyncSession,
    demo: Demo,
    clock: Clock,
    items: list[dict[str, Any]],
    event_name: str = "data_source.disconnected",
) -> int:
    count = await webhooks.emit(
        session, agency_id=demo.agency.id, event=event_name, items=items, now=clock()
    )
    await session.commit()
    return count


async def deliveries(session: AsyncSession) -> list[WebhookDelivery]:
    session.expire_all()
    return list(await session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


async def test_webhook_arrives_signed_and_verifies_with_the_documented_recipe(
    session: AsyncSession,
    box: SecretBox,
    demo: Demo,
    ctx: JobContext,
    clock: Clock,
    receiver: WebhookReceiver,
) -> None:
    _, secret = await add_endpoint(session, box, demo, receiver.endpoint())
    await emit(session, demo, clock, [DISCONNECTED])

    report = await deliver_due(ctx)

    assert report.delivered == 1
    [request] = receiver.requests
    payload = relink_event(secret, request.body, request.headers)
    assert payload is not None, "the standardwebhooks library verifies the delivery"
    assert payload["type"] == "data_source.disconnected"
    assert payload["data"] == DISCONNECTED
    assert payload["timestamp"] == clock().isoformat()
    assert request.headers["Relink-Event"] == "data_source.disconnected"
    assert request.headers["webhook-id"] == payload["id"]
    [delivery] = await deliveries(session)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 200)


async def test_a_tampered_body_or_another_secret_does_not_verify(
    session: AsyncSession,
    box: SecretBox,
    demo: Demo,
    ctx: JobContext,
    clock: Clock,
    receiver: WebhookReceiver,
) -> None:
    _, secret = await add_endpoint(session, box, demo, receiver.endpoint())
    await emit(session, demo, clock, [DISCONNECTED])
    await deliver_due(ctx)
    [request] = receiver.requests

    assert relink_event(secret, request.body, request.headers) is not None
    assert relink_event(secret, request.body.replace(b"41", b"42"), request.headers) is None
    someone_else = "whsec_" + base64.b64encode(b"someone else's key bytes").decode()
    assert relink_event(someone_else, request.body, request.headers) is None


async def test_a_replayed_old_delivery_does_not_verify(
    session: AsyncSession,
    box: SecretBox,
    demo: Demo,
    ctx: JobContext,
    clock: Clock,
    receiver: WebhookReceiver,
) -> None:
    # given: a delivery signed ten minutes ago, captured and sent again now
    _, secret = await add_endpoint(session, box, demo, receiver.endpoint())
    clock.advance(minutes=-10)
    await emit(session, demo, clock, [DISCONNECTED])
    await deliver_due(ctx)

    [request] = receiver.requests
    assert relink_event(secret, request.body, request.headers) is None


async def test_endpoints_receive_only_the_events_they_subscribe_to(
    session: AsyncSession,
    box: SecretBox,
    demo: Demo,
    ctx: JobContext,
    clock: Clock,
    receiver: WebhookReceiver,
) -> None:
    await add_endpoint(session, box, demo, receiver.endpoint("/all"))
    await add_endpoint(
        session, box, demo, receiver.endpoint("/disconnects"), events=("data_source.disconnected",)
    )
    await add_endpoint(session, box, demo, receiver.endpoint("/imports"), events=("import.failed",))
    inactive, _ = await add_endpoint(session, box, demo, receiver.endpoint("/inactive"))
    inactive.is_active = False
    await session.commit()

    assert await emit(session, demo, clock, [DISCONNECTED]) == 2
    await deliver_due(ctx)

    assert sorted(r.path for r in receiver.requests) == ["/all", "/disconnects"]
    # One event, one id: a receiver subscribed twice can drop the duplicate.
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1


async def test_a_failing_endpoint_is_retried_with_backoff_then_logged_as_failed(
    session: AsyncSession,
    box: SecretBox,
    demo: Demo,
    ctx: JobContext,
    clock: Clock,
    receiver: WebhookReceiver,
) -> None:
    receiver.status = 500
    await add_endpoint(session, box, demo, receiver.endpoint())
    await emit(session, demo, clock, [DISCONNECTED])

    for attempt, wait in enumerate(RETRY_SCHEDULE, start=1):
        await deliver_due(ctx)
        [delivery] = await deliveries(session)
        assert (delivery.status, delivery.attempts) == ("pending", attempt)
        assert delivery.next_attempt_at is not None and delivery.last_attempt_at is not None
        waited = delivery.next_attempt_at - delivery.last_attempt_at
        assert wait <= waited <= wait * 1.1
        # Not due yet: a sweep now sends nothing.
        clock.advance(seconds=wait.total_seconds() * 0.99)
        await deliver_due(ctx)
        assert len(receiver.requests) == attempt
        clock.advance(seconds=wait.total_seconds() * 0.12)

    await deliver_due(ctx)

    [delivery] = await deliveries(session)
    assert len(receiver.requests) == MAX_ATTEMPTS
    assert (delivery.status, delivery.attempts) == ("failed", MAX_ATTEMPTS)
    assert (delivery.last_status_code, delivery.last_error) == (500, "HTTP 500")
    assert delivery.next_attempt_at is None
    clock.advance(days=2)
    await deliver_due(ctx)
    assert len(receiver.requests) == MAX_ATTEMPTS


async def test_an_endpoint_that_does_not_answer_is_scheduled_for_a_retry(
    session: AsyncSession,
    box: SecretBox,
    demo: Demo,
    ctx: JobContext,
    clock: Clock,
    receiver: WebhookReceiver,
) -> None:
    receiver.down = True
    await add_endpoint(session, box, demo, receiver.endpoint())
    await emit(session, demo, clock, [DISCONNECTED])

    report = await deliver_due(ctx)

    assert report.retrying == 1
    [delivery] = await deliveries(session)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, None)
    assert delivery.last_error is not None and delivery.last_error.startswith("no answer")


async def test_a_2xx_after_failures_marks_the_delivery_delivered(
    session: AsyncSession,
    box: SecretBox,
    demo: Demo,
    ctx: JobContext,
    clock: Clock,
    receiver: WebhookReceiver,
) -> None:
    await add_endpoint(session, box, demo, receiver.endpoint())
    await emit(session, demo, clock, [DISCONNECTED])
    receiver.down = True
    await deliver_due(ctx)
    receiver.down, receiver.status = False, 503
    clock.advance(hours=1)
    await deliver_due(ctx)

    receiver.status = 204
    clock.advance(hours=1)
    await deliver_due(ctx)

    [delivery] = await deliveries(session)
    assert (delivery.status, delivery.attempts) == ("delivered", 3)
    assert (delivery.last_status_code, delivery.last_error) == (204, None)
    # Every attempt carried the same event id.
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1


async def test_a_slack_endpoint_gets_an_incoming_webhook_message(
    session: AsyncSession,
    box: SecretBox,
    demo: Demo,
    ctx: JobContext,
    clock: Clock,
    receiver: WebhookReceiver,
) -> None:
    await add_endpoint(session, box, demo, receiver.endpoint(), payload_format="slack")
    await emit(session, demo, clock, [DISCONNECTED])

    await deliver_due(ctx)

    [request] = receiver.requests
    message = json.loads(request.body)
    assert message["text"] == (
        ":red_circle: Google Ads disconnected for Acme Dental — the sign-in was revoked. "
        "<https://relink.example/reconnect/41|Reconnect>"
    )
    section, actions = message["blocks"]
    assert section["text"] == {"type": "mrkdwn", "text": message["text"]}
    [button] = actions["elements"]
    assert button["url"] == DISCONNECTED["action_url"]
    assert request.headers["Relink-Event"] == "data_source.disconnected"
    assert "webhook-signature" not in request.headers


async def test_a_teams_endpoint_gets_an_adaptive_card_with_the_action(
    session: AsyncSession,
    box: SecretBox,
    demo: Demo,
    ctx: JobContext,
    clock: Clock,
    receiver: WebhookReceiver,
) -> None:
    await add_endpoint(session, box, demo, receiver.endpoint(), payload_format="teams")
    await emit(session, demo, clock, [DISCONNECTED])

    await deliver_due(ctx)

    [request] = receiver.requests
    message = json.loads(request.body)
    # The shape Microsoft documents for a Workflows webhook: a message with one card attached.
    assert message["type"] == "message"
    [attachment] = message["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    title, facts = card["body"]
    assert title == {
        "type": "TextBlock",
        "text": "Google Ads disconnected",
        "weight": "Bolder",
        "size": "Medium",
        "wrap": True,
        "color": "attention",
    }
    assert facts["facts"] == [
        {"title": "Clients", "value": "Acme Dental"},
        {"title": "Reason", "value": "the sign-in was revoked"},
    ]
    assert card["actions"] == [
        {"type": "Action.OpenUrl", "title": "Reconnect", "url": DISCONNECTED["action_url"]}
    ]
    assert "webhook-signature" not in request.headers


def test_a_teams_card_tolerates_missing_fields() -> None:
    message = teams_message({"type": "import.failed", "data": {}})

    card = message["attachments"][0]["content"]
    assert [block["type"] for block in card["body"]] == ["TextBlock"]
    assert "actions" not in card


def test_a_slack_message_escapes_names_and_tolerates_missing_fields() -> None:
    payload = {"type": "import.failed", "data": {"client_name": "Smith & <Sons>"}}

    message = slack_message(payload)

    assert message["text"] == ":warning: A data source import failed for Smith &amp; &lt;Sons&gt;."
    assert len(message["blocks"]) == 1


@pytest.fixture
def statements(database: Database) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(args[2])

    event.listen(database.engine.sync_engine, "before_cursor_execute", record)
    yield seen
    event.remove(database.engine.sync_engine, "before_cursor_execute", record)


async def test_emit_writes_many_deliveries_in_one_insert(
    session: AsyncSession,
    box: SecretBox,
    demo: Demo,
    clock: Clock,
    statements: list[str],
) -> None:
    await add_endpoint(session, box, demo, "https://hooks.example/relink")
    items = [{"data_source_id": n} for n in range(500)]
    statements.clear()

    assert await emit(session, demo, clock, items) == 500

    inserts = [s for s in statements if s.lstrip().upper().startswith("INSERT")]
    assert len(inserts) == 1
    rows = await deliveries(session)
    assert len(rows) == 500
    assert len({row.event_id for row in rows}) == 500


async def test_emit_queues_delivery_to_run_after_commit(
    session: AsyncSession,
    box: SecretBox,
    demo: Demo,
    clock: Clock,
) -> None:
    sent: list[QueuedJob] = []

    class Recorder:
        def dispatch(self, job: QueuedJob) -> None:
            sent.append(job)

    await add_endpoint(session, box, demo, "https://hooks.example/relink")
    set_dispatcher(Recorder())
    try:
        await webhooks.emit(
            session, agency_id=demo.agency.id, event="import.failed", items=[{}], now=clock()
        )
        assert sent == []
        await session.commit()
    finally:
        set_dispatcher(None)

    assert sent == [QueuedJob(name="webhooks.deliver_due")]


async def test_the_secret_never_appears_in_delivery_rows_or_logs(
    session: AsyncSession,
    box: SecretBox,
    demo: Demo,
    ctx: JobContext,
    clock: Clock,
    receiver: WebhookReceiver,
) -> None:
    receiver.status = 500
    with capture_logs() as logs:
        endpoint, secret = await add_endpoint(session, box, demo, receiver.endpoint())
        endpoint_id = endpoint.id
        await emit(session, demo, clock, [DISCONNECTED])
        await deliver_due(ctx)
        await deliver_one(ctx, delivery_id=(await deliveries(session))[0].id)

    assert len(receiver.requests) == 2
    assert logs and secret not in repr(logs)
    [delivery] = await deliveries(session)
    row = {c.key: getattr(delivery, c.key) for c in WebhookDelivery.__table__.columns}
    assert secret not in repr(row)
    stored = await session.scalar(
        select(WebhookEndpoint.secret).where(WebhookEndpoint.id == endpoint_id)
    )
    assert stored is not None and secret not in stored


@pytest.mark.parametrize(
    "url", ["ftp://hooks.example/x", "hooks.example/x", "https://", "javascript:alert(1)"]
)
async def test_a_url_that_is_not_http_is_refused(
    session: AsyncSession, box: SecretBox, demo: Demo, url: str
) -> None:
    with pytest.raises(InvalidInput, match="http"):
        await webhooks.create_endpoint(
            session, box=box, agency_id=demo.agency.id, url=url, events=[]
        )


async def test_an_unknown_event_is_refused_by_name(
    session: AsyncSession, box: SecretBox, demo: Demo
) -> None:
    with pytest.raises(InvalidInput, match=r"unknown webhook event 'data_source\.exploded'"):
        await webhooks.create_endpoint(
            session,
            box=box,
            agency_id=demo.agency.id,
            url="https://hooks.example/x",
            events=["import.failed", "data_source.exploded"],
        )


async def test_the_secret_is_shown_once_with_its_prefix_and_stored_sealed(
    session: AsyncSession, box: SecretBox, demo: Demo
) -> None:
    endpoint, secret = await add_endpoint(session, box, demo, "https://hooks.example/x")

    assert secret.startswith("whsec_") and len(secret) == len("whsec_") + 32
    assert box.open(endpoint.secret) == {"secret": secret}


async def test_after_a_rotation_both_secrets_sign_for_a_grace_period(
    session: AsyncSession,
    box: SecretBox,
    demo: Demo,
    ctx: JobContext,
    clock: Clock,
    receiver: WebhookReceiver,
) -> None:
    endpoint, old = await add_endpoint(session, box, demo, receiver.endpoint())
    new = await webhooks.rotate_secret(
        session, box=box, agency_id=demo.agency.id, endpoint_id=endpoint.id, now=clock()
    )
    await session.commit()
    await emit(session, demo, clock, [DISCONNECTED])

    await deliver_due(ctx)

    [request] = receiver.requests
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        assert relink_event(secret, request.body, request.headers) is not None
    later = clock() + webhooks.ROTATION_GRACE + timedelta(seconds=1)
    assert webhooks.signing_secrets(box, endpoint.secret, now=later) == [new]


async def test_the_delivery_log_pages_newest_first(
    session: AsyncSession, box: SecretBox, demo: Demo, clock: Clock
) -> None:
    endpoint, _ = await add_endpoint(session, box, demo, "https://hooks.example/x")
    await emit(session, demo, clock, [{"n": n} for n in range(5)])

    first = await webhook_deliveries.list_deliveries(
        session, agency_id=demo.agency.id, endpoint_id=endpoint.id, limit=3
    )
    rest = await webhook_deliveries.list_deliveries(
        session,
        agency_id=demo.agency.id,
        endpoint_id=endpoint.id,
        limit=3,
        before_id=first[-1].id,
    )

    assert [d.payload["data"]["n"] for d in first + rest] == [4, 3, 2, 1, 0]


async def test_another_agencys_endpoint_is_not_found(
    session: AsyncSession, box: SecretBox, demo: Demo
) -> None:
    endpoint, _ = await add_endpoint(session, box, demo, "https://hooks.example/x")

    with pytest.raises(NotFound):
        await webhooks.delete_endpoint(
            session, agency_id=demo.agency.id + 1, endpoint_id=endpoint.id
        )
