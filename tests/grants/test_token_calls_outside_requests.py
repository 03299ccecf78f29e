"""No web request waits long on a token endpoint, and a call it stops waiting for still lands."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import parse_qsl

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.data_sources import connect
from relink.grants import callback, detached, oauth_flow
from relink.kit.crypto import SecretBox
from relink.models import Grant
from relink.sandbox import seed
from relink.worker.context import JobContext
from tests.fixtures.clock import Clock
from tests.fixtures.demo import Demo
from tests.fixtures.oauth_dance import consent
from tests.fixtures.sandbox import SandboxServer
from tests.health.conftest import reload_grant

OTHER = "other@sandbox.test"
# The page's patience in these tests; the token endpoint takes longer than that.
PAGE_WAIT = 0.2
TOKEN_ENDPOINT_DELAY = 1.0


@pytest.fixture
async def page_wait(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[None]:
    monkeypatch.setattr(detached, "REQUEST_WAIT_SECONDS", PAGE_WAIT)
    yield
    await detached.drain()


async def test_a_slow_token_endpoint_does_not_hold_the_accounts_page_and_its_refresh_lands(
    session: AsyncSession,
    demo: Demo,
    ctx: JobContext,
    sandbox: SandboxServer,
    box: SecretBox,
    page_wait: None,
) -> None:
    sandbox.add_fault("slow", delay=TOKEN_ENDPOINT_DELAY, surface="oauth")

    with pytest.raises(detached.StillWorking):
        await connect.reachable_accounts(ctx, grant_id=demo.shared_grant_id)
    await detached.drain()

    grant = await reload_grant(session, demo.shared_grant_id)
    assert grant.last_refreshed_at is not None
    assert box.open(grant.credentials)["refresh_token"] != seed.IDENTITIES[0].demo_refresh_token
    assert sandbox.refresh(box.open(grant.credentials)["refresh_token"]).status_code == 200


async def test_a_slow_code_exchange_does_not_hold_the_callback_and_its_grant_is_still_saved(
    session: AsyncSession,
    demo: Demo,
    ctx: JobContext,
    sandbox: SandboxServer,
    clock: Clock,
    page_wait: None,
) -> None:
    nonce = oauth_flow.new_session_nonce()
    started = await oauth_flow.start(
        session,
        ctx=ctx,
        agency_id=demo.agency.id,
        provider="sandbox",
        purpose="connect",
        session_nonce=nonce,
        now=clock(),
        user_id=demo.admin.id,
    )
    await session.commit()
    back = dict(parse_qsl(consent(sandbox, started.authorize_url, email=OTHER)))
    sandbox.add_fault("slow", delay=TOKEN_ENDPOINT_DELAY, surface="oauth")

    with pytest.raises(detached.StillWorking):
        await callback.complete(
            ctx,
            state=back["state"],
            code=back["code"],
            error=None,
            session_nonce=nonce,
            user_id=demo.admin.id,
            now=clock(),
        )
    await detached.drain()

    session.expire_all()
    identities = set(await session.scalars(select(Grant.identity_name)))
    assert OTHER in identities
