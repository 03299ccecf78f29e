"""Token refresh: rotation saved first, a lost answer survives, ahead of expiry with jitter."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from relink.grants.refresh import Outcome, refresh_grant
from relink.grants.refresh_schedule import (
    MAX_REFRESH_INTERVAL,
    MIN_REFRESH_INTERVAL,
    REFRESH_MARGIN,
    next_refresh_at,
)
from relink.kit.crypto import SecretBox
from relink.sandbox import seed
from relink.status import GrantStatus
from relink.worker.context import JobContext
from relink.worker.sweep import claim_due_grants
from tests.fixtures.clock import Clock
from tests.fixtures.demo import Demo
from tests.fixtures.sandbox import SandboxServer
from tests.health.conftest import reload_grant

MANAGER = "manager@sandbox.test"
DEMO_TOKEN = seed.IDENTITIES[0].demo_refresh_token


async def test_a_refresh_saves_the_rotated_refresh_token(
    session: AsyncSession, demo: Demo, ctx: JobContext, box: SecretBox, sandbox: SandboxServer
) -> None:
    grant_id = demo.shared_grant_id

    result = await refresh_grant(ctx, grant_id=grant_id)

    assert result.outcome is Outcome.REFRESHED
    grant = await reload_grant(session, grant_id)
    stored = box.open(grant.credentials)
    assert stored["refresh_token"] != DEMO_TOKEN
    assert sandbox.refresh(stored["refresh_token"]).status_code == 200
    assert grant.access_expires_at is not None and grant.next_refresh_at is not None


async def test_a_fresh_token_is_not_refreshed_again(
    session: AsyncSession, demo: Demo, ctx: JobContext, sandbox: SandboxServer
) -> None:
    await refresh_grant(ctx, grant_id=demo.shared_grant_id)
    calls = sandbox.state.stats.token_requests["refresh_token"]

    result = await refresh_grant(ctx, grant_id=demo.shared_grant_id)

    assert result.outcome is Outcome.STILL_FRESH
    assert sandbox.state.stats.token_requests["refresh_token"] == calls


async def test_a_refresh_whose_answer_was_lost_does_not_lose_the_grant(
    session: AsyncSession, demo: Demo, ctx: JobContext, box: SecretBox, sandbox: SandboxServer
) -> None:
    grant_id = demo.shared_grant_id
    # The sandbox rotates the token, then drops the connection: we never hear the answer.
    sandbox.add_fault("drop_response", grant=MANAGER, times=1)

    result = await refresh_grant(ctx, grant_id=grant_id)

    assert sandbox.state.stats.dropped_responses >= 1
    assert result.outcome is Outcome.REFRESHED
    grant = await reload_grant(session, grant_id)
    assert grant.status is GrantStatus.ACTIVE
    assert sandbox.state.stats.refresh_token_reuse_detected == 0
    assert sandbox.refresh(box.open(grant.credentials)["refresh_token"]).status_code == 200


async def test_a_lost_answer_that_lasts_keeps_the_old_token_and_the_grant(
    session: AsyncSession, demo: Demo, ctx: JobContext, box: SecretBox, sandbox: SandboxServer
) -> None:
    grant_id = demo.shared_grant_id
    sandbox.add_fault("drop_response", grant=MANAGER)

    result = await refresh_grant(ctx, grant_id=grant_id)

    assert result.outcome is Outcome.FAILED
    grant = await reload_grant(session, grant_id)
    assert grant.status is GrantStatus.ACTIVE
    assert box.open(grant.credentials)["refresh_token"] == DEMO_TOKEN
    assert grant.refresh_failures == 1


async def test_expired_refresh_tokens_disconnect_the_grant(
    session: AsyncSession, demo: Demo, ctx: JobContext, sandbox: SandboxServer
) -> None:
    sandbox.add_fault("expire_refresh", grant=MANAGER)

    result = await refresh_grant(ctx, grant_id=demo.shared_grant_id)

    assert result.outcome is Outcome.FAILED
    assert (await reload_grant(session, demo.shared_grant_id)).status is GrantStatus.DISCONNECTED


async def test_our_app_misconfigured_alerts_but_disconnects_nothing(
    session: AsyncSession, demo: Demo, ctx: JobContext, sandbox: SandboxServer
) -> None:
    from tests.health.conftest import open_incidents

    sandbox.add_fault("invalid_client")

    await refresh_grant(ctx, grant_id=demo.shared_grant_id)

    assert (await reload_grant(session, demo.shared_grant_id)).status is GrantStatus.ACTIVE
    incidents = await open_incidents(session)
    assert [i.key for i in incidents] == ["provider:sandbox:app_misconfigured"]


def test_refresh_is_due_ahead_of_expiry_and_at_least_daily(ctx: JobContext, clock: Clock) -> None:
    now = clock()
    expires = now + timedelta(hours=1)

    due = next_refresh_at(now=now, access_expires_at=expires, ctx=ctx)
    idle = next_refresh_at(now=now, access_expires_at=now + timedelta(days=60), ctx=ctx)

    assert now <= due <= expires - REFRESH_MARGIN
    assert idle <= now + MAX_REFRESH_INTERVAL


def test_a_thousand_grants_with_one_expiry_do_not_refresh_in_one_second(
    ctx: JobContext, clock: Clock
) -> None:
    now = clock()
    expires = now + timedelta(hours=1)
    ctx.rng = random.Random(1)

    seconds = {
        int(next_refresh_at(now=now, access_expires_at=expires, ctx=ctx).timestamp())
        for _ in range(1000)
    }

    assert len(seconds) > 300


async def _sweep_refreshes(ctx: JobContext, *, rounds: int = 20) -> int:
    """The sweep's refresh loop (claim what is due, refresh it, again until nothing is due);
    answers how many rounds found work, stopping at ``rounds``."""
    busy = 0
    for _ in range(rounds):
        async with ctx.database.transaction() as claiming:
            due = await claim_due_grants(claiming, now=ctx.now(), limit=100)
        if not due:
            break
        busy += 1
        for grant_id, generation in due.items():
            await refresh_grant(ctx, grant_id=grant_id, replacing=generation)
    return busy


@pytest.mark.parametrize("lifetime", [60, 240])
async def test_short_lived_tokens_are_refreshed_once_per_sweep_and_not_due_again_at_once(
    session: AsyncSession,
    demo: Demo,
    ctx: JobContext,
    sandbox: SandboxServer,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
    lifetime: int,
) -> None:
    monkeypatch.setattr(sandbox.state, "access_token_ttl", lifetime)
    grants = [demo.shared_grant_id, demo.second_grant_id]

    busy_rounds = await _sweep_refreshes(ctx)

    assert busy_rounds == 1
    assert sandbox.state.stats.token_requests["refresh_token"] == len(grants)
    for grant_id in grants:
        grant = await reload_grant(session, grant_id)
        assert grant.next_refresh_at is not None and grant.access_expires_at is not None
        # Due again after a good part of the token's life, and before it lapses.
        assert clock() + timedelta(seconds=lifetime / 2) <= grant.next_refresh_at
        assert grant.next_refresh_at < grant.access_expires_at

    clock.advance(seconds=lifetime)
    sandbox.state.advance_clock(lifetime)
    assert await _sweep_refreshes(ctx) == 1
    assert sandbox.state.stats.token_requests["refresh_token"] == 2 * len(grants)


@pytest.mark.parametrize("seconds", [0, 1, 20, 60, 240, 299, 600, 900])
def test_the_next_refresh_is_never_now_whatever_the_token_lifetime(
    ctx: JobContext, clock: Clock, seconds: int
) -> None:
    now = clock()
    expires = now + timedelta(seconds=seconds)

    due = [next_refresh_at(now=now, access_expires_at=expires, ctx=ctx) for _ in range(200)]

    assert min(due) >= now + MIN_REFRESH_INTERVAL
    if seconds > 2 * MIN_REFRESH_INTERVAL.total_seconds():
        # Refreshed while a quarter of its life is left at least.
        assert max(due) <= expires - timedelta(seconds=seconds / 4)
