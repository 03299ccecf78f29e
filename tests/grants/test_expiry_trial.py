"""The sandbox's trial login: a short documented lifetime, warned as soon as it is connected."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from relink.grants.expiry import watch
from relink.models import Grant
from relink.providers.catalog import load_catalog
from relink.sandbox.seed import TRIAL_GRANT_LIFETIME_DAYS
from tests.fixtures.clock import Clock
from tests.fixtures.demo import Demo
from tests.fixtures.sandbox import SandboxServer

TRIAL = "sbx-user-1004"


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
