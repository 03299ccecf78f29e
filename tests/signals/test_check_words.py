"""What a signal reported travels with the check into the failure it ends in: a revoked grant
the check finds dead is told as removed at the provider; the same answer found without a
signal claims no more than the provider said."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from relink.grants.refresh import refresh_current
from relink.providers.revocation import Revocation
from relink.providers.taxonomy import ErrorClass
from relink.sandbox.transmitter import TOKENS_REVOKED
from relink.signals.check import VIA_PROBE, VIA_SIGNAL, CheckResult, Verdict, check_grant
from relink.status import GrantStatus
from relink.worker.context import JobContext
from tests.fixtures.demo import Demo, data_sources_of
from tests.fixtures.sandbox import SandboxServer
from tests.health.conftest import reload_grant
from tests.signals.conftest import MANAGER_SUBJECT, revoke_silently

BY_THE_OWNER = Revocation.of(TOKENS_REVOKED, "user removed access")


@pytest.fixture
async def connected(demo: Demo, ctx: JobContext, sandbox: SandboxServer) -> Demo:
    """The shared grant holds an access token, and nobody listens for the sandbox's signals."""
    sandbox.state.transmitter.streams.clear()
    sandbox.state.transmitter.deauthorize_callbacks.clear()
    await refresh_current(ctx, grant_id=demo.shared_grant_id)
    return demo


async def test_a_check_after_a_revocation_signal_tells_the_grant_removed_by_its_owner(
    session: AsyncSession, connected: Demo, ctx: JobContext, sandbox: SandboxServer
) -> None:
    revoke_silently(sandbox, MANAGER_SUBJECT)

    result = await check_grant(
        ctx, grant_id=connected.shared_grant_id, via=VIA_SIGNAL, revocation=BY_THE_OWNER
    )

    assert result == CheckResult(Verdict.DISCONNECTED, ErrorClass.AUTH_REVOKED)
    grant = await reload_grant(session, connected.shared_grant_id)
    assert grant.status_reason is ErrorClass.AUTH_REVOKED
    assert grant.status_detail == (
        "Access was removed at Sandbox Ads by the account owner; reconnect to sign in again."
    )
    sources = await data_sources_of(session, connected.shared_grant_id)
    assert {s.status_detail for s in sources} == {grant.status_detail}


async def test_a_signal_check_of_a_grant_that_still_works_changes_nothing(
    session: AsyncSession, connected: Demo, ctx: JobContext
) -> None:
    result = await check_grant(
        ctx, grant_id=connected.shared_grant_id, via=VIA_SIGNAL, revocation=BY_THE_OWNER
    )

    assert result.verdict is Verdict.OK
    grant = await reload_grant(session, connected.shared_grant_id)
    assert grant.status is GrantStatus.ACTIVE and grant.status_detail is None


async def test_a_probe_that_finds_the_same_revocation_says_only_revoked_or_expired(
    session: AsyncSession, connected: Demo, ctx: JobContext, sandbox: SandboxServer
) -> None:
    revoke_silently(sandbox, MANAGER_SUBJECT)

    await check_grant(ctx, grant_id=connected.shared_grant_id, via=VIA_PROBE)

    grant = await reload_grant(session, connected.shared_grant_id)
    assert grant.status is GrantStatus.DISCONNECTED
    assert grant.status_detail is not None
    assert "no longer works: it was revoked or has expired" in grant.status_detail
    assert "removed" not in grant.status_detail
