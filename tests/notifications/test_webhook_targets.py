"""Webhooks reach the public internet only: internal targets are refused when saved and sent."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.config import Settings
from relink.db import Database
from relink.errors import InvalidInput
from relink.kit.crypto import SecretBox
from relink.kit.public_address import GuardedResolver, HostPolicy, TargetRefused
from relink.models import WebhookDelivery, WebhookEndpoint
from relink.notifications import webhooks
from relink.notifications.webhook_tasks import deliver_due
from relink.providers.catalog import load_catalog
from relink.providers.http import HttpClient
from relink.worker.context import JobContext
from tests.fixtures.clock import Clock
from tests.fixtures.demo import Demo
from tests.fixtures.webhook_receiver import WebhookReceiver

NOTHING_ALLOWED = HostPolicy()

INTERNAL_TARGETS = [
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "http://127.0.0.1:8000/hook",
    "http://127.9.9.9/hook",
    "http://localhost/hook",
    "http://LocalHost./hook",
    "http://api.localhost/hook",
    "http://10.0.0.5/hook",
    "http://172.16.3.4/hook",
    "https://192.168.1.1/hook",
    "http://100.64.0.1/hook",
    "http://0.0.0.0:8000/hook",
    "http://224.0.0.1/hook",
    "http://240.0.0.1/hook",
    "http://[::1]/hook",
    "http://[::]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://[::ffff:169.254.169.254]/hook",
    "http://[fe80::1]/hook",
    "http://[fd00::1]/hook",
    "http://[ff02::1]/hook",
    "http://[64:ff9b::a9fe:a9fe]/hook",
    "http://[2002:7f00:1::]/hook",
    # Legacy numeric spellings the system resolver still maps onto 127.0.0.1.
    "http://2130706433/hook",
    "http://0x7f.0.0.1/hook",
    "http://127.1/hook",
]


async def _endpoints(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(WebhookEndpoint)) or 0)


def _ctx(database: Database, box: SecretBox, clock: Clock, allowed: list[str]) -> JobContext:
    return JobContext(
        database=database,
        box=box,
        catalog=load_catalog(),
        http=HttpClient(timeout=5),
        settings=Settings(webhook_allowed_hosts=allowed),
        clock=clock,
        rng=random.Random(7),
    )


async def _saved_before_the_check(
    session: AsyncSession, box: SecretBox, demo: Demo, clock: Clock, url: str
) -> None:
    """An endpoint whose host was acceptable when saved (allowed then, or DNS changed since)."""
    await webhooks.create_endpoint(
        session,
        box=box,
        agency_id=demo.agency.id,
        url=url,
        events=[],
        policy=HostPolicy.allowing(["localhost", "127.0.0.1"]),
    )
    await webhooks.emit(
        session,
        agency_id=demo.agency.id,
        event="data_source.disconnected",
        items=[{"data_source_id": 1}],
        now=clock(),
    )
    await session.commit()


async def _only_delivery(session: AsyncSession) -> WebhookDelivery:
    session.expire_all()
    [delivery] = list(await session.scalars(select(WebhookDelivery)))
    return delivery


@pytest.mark.parametrize("url", INTERNAL_TARGETS)
async def test_saving_a_webhook_to_an_internal_address_is_refused_with_what_to_fix(
    session: AsyncSession, box: SecretBox, demo: Demo, url: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        await webhooks.create_endpoint(
            session,
            box=box,
            agency_id=demo.agency.id,
            url=url,
            events=[],
            policy=NOTHING_ALLOWED,
        )

    message = refused.value.message
    assert message.startswith("webhook URL refused: ")
    assert "public URL" in message and "RELINK_WEBHOOK_ALLOWED_HOSTS" in message
    assert await _endpoints(session) == 0


async def test_the_refusal_names_the_address_a_name_resolves_to(
    session: AsyncSession, box: SecretBox, demo: Demo
) -> None:
    with pytest.raises(InvalidInput, match=r"127\.0\.0\.1 is a loopback address \(this machine\)"):
        await webhooks.create_endpoint(
            session,
            box=box,
            agency_id=demo.agency.id,
            url="http://127.0.0.1:9/x",
            events=[],
            policy=NOTHING_ALLOWED,
        )
    with pytest.raises(InvalidInput, match=r"169\.254\.169\.254 is a link-local address"):
        await webhooks.create_endpoint(
            session,
            box=box,
            agency_id=demo.agency.id,
            url="http://169.254.169.254/",
            events=[],
            policy=NOTHING_ALLOWED,
        )
    with pytest.raises(InvalidInput, match=r"0x7f\.0\.0\.1 resolves to 127\.0\.0\.1, a loopback"):
        await webhooks.create_endpoint(
            session,
            box=box,
            agency_id=demo.agency.id,
            url="http://0x7f.0.0.1/",
            events=[],
            policy=NOTHING_ALLOWED,
        )


@pytest.mark.parametrize(
    "url",
    [
        "https://8.8.8.8/hook",
        "https://[2606:4700:4700::1111]/hook",
        "https://hooks.relink.invalid/not-resolvable-yet",
    ],
)
async def test_a_public_or_not_yet_resolvable_webhook_url_is_saved(
    session: AsyncSession, box: SecretBox, demo: Demo, url: str
) -> None:
    endpoint, _ = await webhooks.create_endpoint(
        session, box=box, agency_id=demo.agency.id, url=url, events=[], policy=NOTHING_ALLOWED
    )

    assert endpoint.url == url


async def test_a_host_named_in_the_settings_may_be_saved(
    session: AsyncSession, box: SecretBox, demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RELINK_WEBHOOK_ALLOWED_HOSTS", "receiver.internal, 127.0.0.1")
    assert Settings().webhook_allowed_hosts == ["receiver.internal", "127.0.0.1"]
    policy = webhooks.host_policy(Settings().webhook_allowed_hosts)

    endpoint, _ = await webhooks.create_endpoint(
        session,
        box=box,
        agency_id=demo.agency.id,
        url="http://127.0.0.1:9/hook",
        events=[],
        policy=policy,
    )

    assert endpoint.url == "http://127.0.0.1:9/hook"
    with pytest.raises(InvalidInput, match=r"10\.1\.2\.3 is a private address"):
        await webhooks.create_endpoint(
            session,
            box=box,
            agency_id=demo.agency.id,
            url="http://10.1.2.3/",
            events=[],
            policy=policy,
        )


async def test_sending_refuses_a_name_that_resolves_to_loopback(
    session: AsyncSession,
    database: Database,
    box: SecretBox,
    demo: Demo,
    clock: Clock,
    receiver: WebhookReceiver,
) -> None:
    # Saved while "localhost" was allowed; the operator has since narrowed the list.
    local_url = receiver.endpoint().replace("127.0.0.1", "localhost")
    await _saved_before_the_check(session, box, demo, clock, local_url)
    ctx = _ctx(database, box, clock, allowed=[])

    report = await deliver_due(ctx)
    await ctx.close()

    assert report.failed == 1 and receiver.requests == []
    delivery = await _only_delivery(session)
    assert delivery.status == "failed" and delivery.next_attempt_at is None
    assert delivery.last_error is not None
    assert delivery.last_error.startswith("refused: localhost is this machine")


async def test_sending_refuses_a_literal_internal_address(
    session: AsyncSession,
    database: Database,
    box: SecretBox,
    demo: Demo,
    clock: Clock,
    receiver: WebhookReceiver,
) -> None:
    await _saved_before_the_check(session, box, demo, clock, receiver.endpoint())
    ctx = _ctx(database, box, clock, allowed=[])

    report = await deliver_due(ctx)
    await ctx.close()

    assert report.failed == 1 and receiver.requests == []
    delivery = await _only_delivery(session)
    assert delivery.last_error == "refused: 127.0.0.1 is a loopback address (this machine)"


async def test_an_allowed_name_is_sent_to_the_address_it_was_checked_at(
    session: AsyncSession,
    database: Database,
    box: SecretBox,
    demo: Demo,
    clock: Clock,
    receiver: WebhookReceiver,
) -> None:
    local_url = receiver.endpoint().replace("127.0.0.1", "localhost")
    await _saved_before_the_check(session, box, demo, clock, local_url)
    ctx = _ctx(database, box, clock, allowed=["localhost"])

    report = await deliver_due(ctx)
    await ctx.close()

    assert report.delivered == 1 and len(receiver.requests) == 1


async def test_the_guarded_resolver_refuses_what_the_system_resolver_maps_to_loopback() -> None:
    resolver = GuardedResolver(NOTHING_ALLOWED)
    try:
        for name in ("localhost", "0x7f.0.0.1", "2130706433"):
            with pytest.raises(TargetRefused):
                await resolver.resolve(name, 80)
        allowed = GuardedResolver(HostPolicy.allowing(["localhost"]))
        assert {r["host"] for r in await allowed.resolve("localhost", 80)} <= {"127.0.0.1", "::1"}
    finally:
        await resolver.close()


@pytest.fixture
async def redirecting_receiver() -> AsyncIterator[tuple[str, list[str]]]:
    """127.0.0.1 (allowed) answering 307 towards localhost, where a second listener waits."""
    reached: list[str] = []

    async def inner(request: web.Request) -> web.Response:
        reached.append(request.path)
        return web.Response(text="should never be reached")

    inner_app = web.Application()
    inner_app.router.add_route("*", "/{tail:.*}", inner)
    inner_runner = web.AppRunner(inner_app, access_log=None)
    await inner_runner.setup()
    inner_site = web.TCPSite(inner_runner, "127.0.0.1", 0)
    await inner_site.start()
    inner_port = inner_runner.addresses[0][1]

    async def outer(request: web.Request) -> web.Response:
        await request.read()
        raise web.HTTPTemporaryRedirect(f"http://localhost:{inner_port}/metadata")

    outer_app = web.Application()
    outer_app.router.add_post("/{tail:.*}", outer)
    outer_runner = web.AppRunner(outer_app, access_log=None)
    await outer_runner.setup()
    outer_site = web.TCPSite(outer_runner, "127.0.0.1", 0)
    await outer_site.start()
    outer_port = outer_runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{outer_port}/hook", reached
    finally:
        await outer_runner.cleanup()
        await inner_runner.cleanup()


async def test_a_redirect_towards_an_internal_host_is_not_followed(
    session: AsyncSession,
    database: Database,
    box: SecretBox,
    demo: Demo,
    clock: Clock,
    redirecting_receiver: tuple[str, list[str]],
) -> None:
    url, reached = redirecting_receiver
    await _saved_before_the_check(session, box, demo, clock, url)
    ctx = _ctx(database, box, clock, allowed=["127.0.0.1"])

    report = await deliver_due(ctx)
    await ctx.close()

    assert reached == []
    assert report.retrying == 1
    delivery = await _only_delivery(session)
    assert delivery.last_status_code == 307 and delivery.last_error == "HTTP 307"
