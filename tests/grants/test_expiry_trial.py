"""The sandbox's trial login: a short documented lifetime, warned as soon as it is connected."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from relink.grants.expiry import watch
from relink.grants.refresh import refresh_grant
from relink.models import Grant
from relink.providers.catalog import load_catalog
from relink.providers.taxonomy import ErrorClass
from relink.sandbox.seed import TRIAL_GRANT_LIFETIME_DAYS
from relink.worker.context import JobContext
from tests.fixtures.clock import Clock
from tests.fixtures.demo import Demo, data_sources_of
from tests.fixtures.sandbox import SandboxServer
from tests.health.conftest import reload_grant

TRIAL = "sbx-user-1004"
MANAGER = "manager@sandbox.test"


async def test_a_trial_login_is_warned_the_moment_it_is_connected(
    session: AsyncSession, demo: Demo, clock: Clock
) -> None:
    await session.execute(
        update(Grant)
        .where(Grant.id == demo.shared_grant_id)
        .values(external_identity=TRIAL, created_at=clock())
    )
    await session.commit()

    found = await watch(session, catalog=load_catalog(), now=clock())

    assert [e.grant_id for e in found] == [demo.shared_grant_id]
    assert (found[0].expires_on - clock().date()).days == TRIAL_GRANT_LIFETIME_DAYS


async def test_other_sandbox_logins_have_no_such_clock(
    session: AsyncSession, demo: Demo, clock: Clock
) -> None:
    assert await watch(session, catalog=load_catalog(), now=clock()) == []


def test_the_sandbox_ends_a_trial_sign_in_after_its_lifetime(sandbox: SandboxServer) -> None:
    tokens = sandbox.connect("trial@sandbox.test")
    within = sandbox.refresh(tokens["refresh_token"])
    assert within.status_code == 200

    sandbox.state.advance_clock(TRIAL_GRANT_LIFETIME_DAYS * 86400 + 60)
    answer = sandbox.refresh(within.json()["refresh_token"])

    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"
    assert "expired" in answer.json()["error_description"]


async def test_a_trial_sign_in_refused_past_its_lifetime_is_told_as_expired(
    session: AsyncSession, demo: Demo, ctx: JobContext, clock: Clock, sandbox: SandboxServer
) -> None:
    await session.execute(
        update(Grant)
        .where(Grant.id == demo.shared_grant_id)
        .values(external_identity=TRIAL, created_at=clock())
    )
    await session.commit()
    [warned] = await watch(session, catalog=ctx.catalog, now=clock())
    await session.commit()
    clock.advance(days=TRIAL_GRANT_LIFETIME_DAYS + 1)
    # The sandbox's answer when a trial's lifetime ends, "Token has been expired or revoked."
    # (its own trial clock is kept by the sandbox for its own logins, not this grant's).
    sandbox.add_fault("expire_refresh", grant=MANAGER)

    await refresh_grant(ctx, grant_id=demo.shared_grant_id)

    grant = await reload_grant(session, demo.shared_grant_id)
    assert grant.status_reason is ErrorClass.AUTH_EXPIRED
    assert grant.status_detail == (
        f"The saved sign-in expired on {warned.expires_on:%d %b %Y}, when the lifetime the "
        "provider gives its sign-ins ended; reconnect to sign in again."
    )
    details = {s.status_detail for s in await data_sources_of(session, demo.shared_grant_id)}
    assert details == {grant.status_detail}
