"""A lost answer never costs a grant: token calls wait long, and a lost answer is retried at once
with the same refresh token, inside the provider's reuse grace (issue 10, item 1)."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.grants.refresh import Outcome, refresh_current
from relink.kit.crypto import SecretBox
from relink.models import Notification
from relink.notifications.kinds import RECONNECT_NEEDED
from relink.providers.catalog import Catalog
from relink.providers.classify import DETAIL_ANSWER_LOST, HINT_ANSWER_LOST
from relink.providers.taxonomy import GRANT_LEVEL
from relink.sandbox import seed
from relink.status import GrantStatus
from relink.worker.context import JobContext
from relink.worker.sweep import sweep
from tests.conftest import TEST_HTTP_TIMEOUT, TEST_TOKEN_TIMEOUT
from tests.fixtures.clock import Clock
from tests.fixtures.demo import Demo
from tests.fixtures.sandbox import SandboxServer
from tests.health.conftest import open_incidents, reload_grant

MANAGER = "manager@sandbox.test"
DEMO_TOKEN = seed.IDENTITIES[0].demo_refresh_token
# Slower than a data call may take, well inside a token call's patience.
HANG = TEST_HTTP_TIMEOUT * 2
# Slower than even a token call waits: the client gives up, the provider carries on.
LONG_HANG = TEST_TOKEN_TIMEOUT + 0.5


def token_fault(sandbox: SandboxServer, kind: str, **fields: Any) -> None:
    """A fault of the token endpoint only (the data API keeps answering)."""
    sandbox.add_fault(kind, surface="oauth", **fields)


def refresh_calls(sandbox: SandboxServer) -> int:
    return sandbox.state.stats.token_requests["refresh_token"]


def after_the_grace(sandbox: SandboxServer, clock: Clock) -> None:
    """Time passes: the provider's reuse grace for any spent token is long over."""
    sandbox.state.advance_clock(sandbox.state.refresh_reuse_grace + 3600)
    clock.advance(hours=1)


async def test_a_token_endpoint_slower_than_a_data_call_is_waited_for(
    session: AsyncSession, demo: Demo, ctx: JobContext, sandbox: SandboxServer
) -> None:
    token_fault(sandbox, "slow", delay=HANG)

    result = await refresh_current(ctx, grant_id=demo.shared_grant_id)

    assert result.outcome is Outcome.REFRESHED
    assert refresh_calls(sandbox) == 1


async def test_a_hang_past_the_token_timeout_is_retried_at_once_and_keeps_the_grant(
    session: AsyncSession, demo: Demo, ctx: JobContext, sandbox: SandboxServer, clock: Clock
) -> None:
    grant_id = demo.shared_grant_id
    # The provider carries out the refresh the client gave up on, after the retry's.
    token_fault(sandbox, "slow", delay=LONG_HANG, times=1)

    result = await refresh_current(ctx, grant_id=grant_id)
    await asyncio.sleep(LONG_HANG)  # the hung request finishes at the provider
    after_the_grace(sandbox, clock)
    later = await refresh_current(ctx, grant_id=grant_id)

    assert (result.outcome, later.outcome) == (Outcome.REFRESHED, Outcome.REFRESHED)
    assert (await reload_grant(session, grant_id)).status is GrantStatus.ACTIVE
    assert sandbox.state.stats.refresh_token_reuse_detected == 0


async def test_a_dropped_answer_then_5xx_is_retried_until_the_rotated_token_arrives(
    session: AsyncSession,
    demo: Demo,
    ctx: JobContext,
    sandbox: SandboxServer,
    clock: Clock,
    box: SecretBox,
) -> None:
    grant_id = demo.shared_grant_id
    # In this order: the refresh rotates and its answer is lost, then the provider fails twice.
    token_fault(sandbox, "drop_response", times=1)
    token_fault(sandbox, "server_error", status=503, times=2)

    result = await refresh_current(ctx, grant_id=grant_id)
    saved = box.open((await reload_grant(session, grant_id)).credentials)["refresh_token"]
    after_the_grace(sandbox, clock)
    later = await refresh_current(ctx, grant_id=grant_id)

    assert result.outcome is Outcome.REFRESHED
    assert refresh_calls(sandbox) == 5
    assert saved != DEMO_TOKEN
    assert later.outcome is Outcome.REFRESHED
    assert sandbox.state.stats.refresh_token_reuse_detected == 0


async def test_retries_after_a_lost_answer_are_all_sent_inside_the_reuse_grace(
    demo: Demo, ctx: JobContext, sandbox: SandboxServer
) -> None:
    # A provider documenting a 2 s grace: retries may use 1.5 s of it. Each attempt hangs 1 s
    # and loses its answer, so the first retry goes at 0 s, the second at 1 s, none at 2 s.
    spec = ctx.catalog.get("sandbox")
    assert spec.oauth is not None
    oauth = spec.oauth.model_copy(update={"refresh_token_reuse_grace_seconds": 2.0})
    ctx.catalog = Catalog(
        {**ctx.catalog.specs, "sandbox": spec.model_copy(update={"oauth": oauth})}
    )
    token_fault(sandbox, "slow", delay=1.0)
    token_fault(sandbox, "drop_response")

    result = await refresh_current(ctx, grant_id=demo.shared_grant_id)

    assert result.outcome is Outcome.FAILED
    assert refresh_calls(sandbox) == 3


async def test_an_answer_lost_for_good_keeps_the_old_token_and_remembers_the_loss(
    session: AsyncSession, demo: Demo, ctx: JobContext, sandbox: SandboxServer, box: SecretBox
) -> None:
    token_fault(sandbox, "drop_response")

    result = await refresh_current(ctx, grant_id=demo.shared_grant_id)

    assert result.outcome is Outcome.FAILED
    grant = await reload_grant(session, demo.shared_grant_id)
    assert grant.status is GrantStatus.ACTIVE
    assert box.open(grant.credentials)["refresh_token"] == DEMO_TOKEN
    assert grant.refresh_answer_lost_at is not None


async def test_an_invalid_grant_after_a_lost_answer_says_the_answer_was_lost(
    session: AsyncSession, demo: Demo, ctx: JobContext, sandbox: SandboxServer, clock: Clock
) -> None:
    grant_id = demo.shared_grant_id
    token_fault(sandbox, "drop_response")
    await refresh_current(ctx, grant_id=grant_id)
    sandbox.state.faults.clear()
    # The only copy of the rotated token was in a lost answer: the old one is dead for good.
    after_the_grace(sandbox, clock)

    result = await refresh_current(ctx, grant_id=grant_id)

    assert result.outcome is Outcome.FAILED
    assert (await reload_grant(session, grant_id)).status is GrantStatus.DISCONNECTED
    [incident] = [i for i in await open_incidents(session) if i.error_class in GRANT_LEVEL]
    assert incident.hint == HINT_ANSWER_LOST
    assert incident.detail is not None and incident.detail.startswith(DETAIL_ANSWER_LOST)


async def test_an_invalid_grant_in_the_same_run_as_a_lost_answer_says_the_answer_was_lost(
    session: AsyncSession, demo: Demo, ctx: JobContext, sandbox: SandboxServer
) -> None:
    token_fault(sandbox, "drop_response", times=1)
    sandbox.add_fault("revoke_grant", grant=MANAGER)

    result = await refresh_current(ctx, grant_id=demo.shared_grant_id)

    assert result.failure is not None
    assert result.failure.classification.hint == HINT_ANSWER_LOST
    assert (await reload_grant(session, demo.shared_grant_id)).status is GrantStatus.DISCONNECTED


async def test_a_good_refresh_forgets_an_earlier_lost_answer(
    session: AsyncSession, demo: Demo, ctx: JobContext, sandbox: SandboxServer
) -> None:
    # Every attempt answered 5xx after the lost one: the old token is still inside the grace.
    token_fault(sandbox, "drop_response", times=1)
    token_fault(sandbox, "server_error", status=500, times=10)
    await refresh_current(ctx, grant_id=demo.shared_grant_id)
    assert (await reload_grant(session, demo.shared_grant_id)).refresh_answer_lost_at is not None
    sandbox.state.faults.clear()

    result = await refresh_current(ctx, grant_id=demo.shared_grant_id)

    assert result.outcome is Outcome.REFRESHED
    assert (await reload_grant(session, demo.shared_grant_id)).refresh_answer_lost_at is None


# What a token endpoint can do to one sweep's refreshes; each leaves the rotated token within
# reach of a client that waits long enough and retries at once inside the grace.
TOKEN_TROUBLE: list[list[dict[str, Any]]] = [
    [{"kind": "slow", "delay": HANG}],
    [{"kind": "slow", "delay": LONG_HANG, "times": 1}],
    [{"kind": "drop_response", "times": 1}],
    [{"kind": "drop_response", "times": 2}],
    [{"kind": "server_error", "status": 500}],
    [{"kind": "server_error", "status": 502, "times": 1}, {"kind": "drop_response", "times": 1}],
    [{"kind": "drop_response", "times": 1}, {"kind": "server_error", "status": 503, "times": 2}],
    [{"kind": "slow", "delay": 0.2}, {"kind": "drop_response", "times": 1}],
    [{"kind": "rate_limit", "retry_after": 1, "times": 1}],
]
SWEEPS = 14


@pytest.mark.parametrize("seed_value", [10])
async def test_hangs_drops_and_5xx_in_varied_orders_over_many_sweeps_disconnect_nothing(
    session: AsyncSession,
    demo: Demo,
    ctx: JobContext,
    sandbox: SandboxServer,
    clock: Clock,
    seed_value: int,
) -> None:
    rng = random.Random(seed_value)
    # Every kind of trouble at least once, then a random mix, in a seeded random order.
    plan = TOKEN_TROUBLE + [rng.choice(TOKEN_TROUBLE) for _ in range(SWEEPS - len(TOKEN_TROUBLE))]
    rng.shuffle(plan)
    await sweep(ctx)  # the first sweep of the day: every grant refreshed, history imported

    for faults in plan:
        sandbox.state.faults.clear()
        for fault in faults:
            token_fault(sandbox, **fault)
        # An hour on both clocks: every grant is due, and any reuse grace has long passed.
        clock.advance(hours=1)
        sandbox.state.advance_clock(3600)
        await sweep(ctx)
        # A request the client gave up on finishes at the provider before time jumps again.
        await asyncio.sleep(LONG_HANG if any(f.get("delay") == LONG_HANG for f in faults) else 0)

    for grant_id in (demo.shared_grant_id, demo.second_grant_id):
        assert (await reload_grant(session, grant_id)).status is GrantStatus.ACTIVE
    assert [i for i in await open_incidents(session) if i.error_class in GRANT_LEVEL] == []
    reconnects = await session.scalars(
        select(Notification).where(Notification.kind == RECONNECT_NEEDED)
    )
    assert list(reconnects) == []
    assert sandbox.state.stats.refresh_token_reuse_detected == 0
