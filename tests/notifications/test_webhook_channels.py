"""Slack and Teams as notification channels for chosen events and chosen clients: one message
per cause naming the provider, the clients the channel is for, the reason and Reconnect, in
each product's own format, checked by local receivers that refuse what the product would."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.kit.crypto import SecretBox
from relink.models import Client, DataSource, WebhookDelivery
from relink.notifications import webhooks
from relink.notifications.chat_messages import MAX_NAMED_CLIENTS, chat_items, slack_message
from relink.notifications.kinds import REASONS
from relink.notifications.webhook_tasks import deliver_due
from relink.providers.catalog import default_catalog
from relink.providers.http import HttpClient
from relink.providers.taxonomy import ErrorClass
from relink.worker.context import JobContext
from relink.worker.sweep import sweep
from tests.fixtures.demo import Demo
from tests.fixtures.sandbox import SandboxServer
from tests.fixtures.webhook_receiver import WebhookReceiver, running_receiver
from tests.notifications.chat_receivers import (
    ChatReceivers,
    check_slack,
    check_teams,
    running_chat_receivers,
)

REVOKED_LOGIN = "manager@sandbox.test"


@pytest.fixture
async def chat() -> AsyncIterator[ChatReceivers]:
    async with running_chat_receivers() as receivers:
        yield receivers


@pytest.fixture
def live_http(ctx: JobContext) -> JobContext:
    # The receivers may be slow on a busy machine; no timeout games here.
    ctx.http = HttpClient()
    return ctx


async def _clients_of_the_shared_grant(session: AsyncSession, demo: Demo) -> list[Client]:
    query = (
        select(Client)
        .join(DataSource, DataSource.client_id == Client.id)
        .where(DataSource.grant_id == demo.shared_grant_id)
        .distinct()
        .order_by(Client.name)
    )
    return list(await session.scalars(query))


async def _channel(
    session: AsyncSession,
    box: SecretBox,
    demo: Demo,
    url: str,
    payload_format: str,
    *,
    events: Sequence[str] = (),
    client_ids: Sequence[int] = (),
) -> int:
    endpoint, _ = await webhooks.create_endpoint(
        session,
        box=box,
        agency_id=demo.agency.id,
        url=url,
        events=list(events),
        payload_format=payload_format,
        client_ids=client_ids,
    )
    await session.commit()
    return endpoint.id


async def _revoke_and_deliver(ctx: JobContext, sandbox: SandboxServer) -> None:
    sandbox.add_fault("revoke_grant", grant=REVOKED_LOGIN)
    await sweep(ctx)
    await deliver_due(ctx)


async def _logged(session: AsyncSession, endpoint_id: int) -> int:
    session.expire_all()
    count = select(func.count()).where(WebhookDelivery.endpoint_id == endpoint_id)
    return int(await session.scalar(count) or 0)


async def test_a_revoked_grant_is_one_slack_message_naming_provider_clients_reason_and_reconnect(
    session: AsyncSession,
    box: SecretBox,
    demo: Demo,
    live_http: JobContext,
    sandbox: SandboxServer,
    chat: ChatReceivers,
) -> None:
    clients = await _clients_of_the_shared_grant(session, demo)
    await _channel(session, box, demo, chat.slack_url(), "slack")

    await _revoke_and_deliver(live_http, sandbox)

    assert chat.refused == []
    [message] = chat.slack
    section, actions = message["blocks"]
    text = section["text"]["text"]
    assert text.startswith(f":red_circle: {default_catalog().display_name('sandbox')} disconnected")
    named = [c.name for c in clients[:MAX_NAMED_CLIENTS]]
    assert all(name.replace("&", "&amp;") in text for name in named)
    assert f"— {REASONS[ErrorClass.AUTH_REVOKED]}." in text
    [button] = actions["elements"]
    assert button["text"]["text"] == "Reconnect"
    assert button["url"].endswith(f"/grants/{demo.shared_grant_id}/reconnect")


async def test_a_revoked_grant_is_one_teams_card_naming_provider_clients_reason_and_reconnect(
    session: AsyncSession,
    box: SecretBox,
    demo: Demo,
    live_http: JobContext,
    sandbox: SandboxServer,
    chat: ChatReceivers,
) -> None:
    clients = await _clients_of_the_shared_grant(session, demo)
    await _channel(session, box, demo, chat.teams_url(), "teams")

    await _revoke_and_deliver(live_http, sandbox)

    assert chat.refused == []
    [message] = chat.teams
    card = message["attachments"][0]["content"]
    title, facts = card["body"]
    assert title["text"] == f"{default_catalog().display_name('sandbox')} disconnected"
    shown = {fact["title"]: fact["value"] for fact in facts["facts"]}
    assert shown["Clients"].split(", ")[0] == clients[0].name
    assert shown["Reason"] == REASONS[ErrorClass.AUTH_REVOKED]
    [action] = card["actions"]
    assert action["type"] == "Action.OpenUrl" and action["title"] == "Reconnect"
    assert action["url"].endswith(f"/grants/{demo.shared_grant_id}/reconnect")


async def test_a_channel_for_one_client_names_only_that_client(
    session: AsyncSession,
    box: SecretBox,
    demo: Demo,
    live_http: JobContext,
    sandbox: SandboxServer,
    chat: ChatReceivers,
) -> None:
    one, *others = await _clients_of_the_shared_grant(session, demo)
    assert others, "the shared grant serves several clients"
    await _channel(session, box, demo, chat.slack_url("one"), "slack", client_ids=[one.id])
    await _channel(session, box, demo, chat.teams_url("one"), "teams", client_ids=[one.id])

    await _revoke_and_deliver(live_http, sandbox)

    [slack] = chat.slack
    assert f"disconnected for {one.name} —" in slack["text"]
    assert not any(other.name in slack["text"] for other in others)
    [teams] = chat.teams
    facts = teams["attachments"][0]["content"]["body"][1]["facts"]
    assert {"title": "Clients", "value": one.name} in facts


async def test_a_channel_for_a_client_the_outage_does_not_touch_gets_nothing_and_logs_nothing(
    session: AsyncSession,
    box: SecretBox,
    demo: Demo,
    live_http: JobContext,
    sandbox: SandboxServer,
    chat: ChatReceivers,
) -> None:
    touched = {c.id for c in await _clients_of_the_shared_grant(session, demo)}
    untouched = next(c for c in demo.clients if c.id not in touched)
    endpoint_id = await _channel(
        session, box, demo, chat.slack_url(), "slack", client_ids=[untouched.id]
    )

    await _revoke_and_deliver(live_http, sandbox)

    assert chat.slack == [] and chat.refused == []
    assert await _logged(session, endpoint_id) == 0


async def test_a_channel_gets_only_the_events_chosen_for_it(
    session: AsyncSession,
    box: SecretBox,
    demo: Demo,
    live_http: JobContext,
    sandbox: SandboxServer,
    chat: ChatReceivers,
) -> None:
    await _channel(
        session, box, demo, chat.teams_url(), "teams", events=["data_source.reconnected"]
    )
    await _channel(
        session, box, demo, chat.slack_url(), "slack", events=["data_source.disconnected"]
    )

    await _revoke_and_deliver(live_http, sandbox)

    assert chat.teams == []
    assert len(chat.slack) == 1


async def test_a_signed_endpoint_for_one_client_gets_only_that_clients_events(
    session: AsyncSession,
    box: SecretBox,
    demo: Demo,
    live_http: JobContext,
    sandbox: SandboxServer,
) -> None:
    one, *_ = await _clients_of_the_shared_grant(session, demo)
    receiver: WebhookReceiver
    async with running_receiver() as receiver:
        await _channel(session, box, demo, receiver.endpoint(), "json", client_ids=[one.id])
        await _revoke_and_deliver(live_http, sandbox)

    sent = [json.loads(r.body)["data"] for r in receiver.requests]
    assert sent and {data["client_id"] for data in sent} == {one.id}


async def test_a_test_event_reaches_a_channel_scoped_to_a_client(
    session: AsyncSession, box: SecretBox, demo: Demo, live_http: JobContext, chat: ChatReceivers
) -> None:
    endpoint_id = await _channel(
        session, box, demo, chat.slack_url(), "slack", client_ids=[demo.clients[0].id]
    )
    await webhooks.send_test(
        session, agency_id=demo.agency.id, endpoint_id=endpoint_id, now=live_http.now()
    )
    await session.commit()

    await deliver_due(live_http)

    [message] = chat.slack
    assert message["text"].startswith(":wave: Relink test message")


def test_a_message_about_many_clients_names_ten_and_counts_the_rest() -> None:
    items = [
        {"data_source_id": n, "client_id": n, "client_name": f"Client {n:03}", "grant_id": 7}
        for n in range(500)
    ]

    [grouped] = chat_items(items)
    message = slack_message({"type": "data_source.disconnected", "data": grouped})

    check_slack(message)
    assert "Client 009 and 490 more" in message["text"]
    assert "Client 010" not in message["text"]
    assert grouped["data_source_ids"] == list(range(500))


def test_items_of_different_grants_are_different_messages() -> None:
    items = [
        {"client_id": 1, "client_name": "A", "grant_id": 1},
        {"client_id": 2, "client_name": "B", "grant_id": 2},
        {"client_id": 3, "client_name": "C", "grant_id": 1},
    ]

    messages = chat_items(items)

    assert [m["client_names"] for m in messages] == [["A", "C"], ["B"]]


def test_the_local_receivers_refuse_what_slack_and_teams_would() -> None:
    from tests.notifications.chat_receivers import Refused

    with pytest.raises(Refused, match="no_text"):
        check_slack({"blocks": []})
    with pytest.raises(Refused, match="invalid_blocks"):
        check_slack({"text": "x", "blocks": [{"type": "paragraph"}]})
    with pytest.raises(Refused, match="contentType"):
        check_teams({"type": "message", "attachments": [{"contentType": "text/html"}]})
