"""A reconnect of a grant whose data sources the platform imports asks the platform's
importers for the missed days (``data_source.backfill_requested``), and their confirmations
close the gap; Relink imports none of those days itself."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relink.api_tokens.permissions import IMPORTER
from relink.config import get_settings
from relink.data_sources.tasks import backfill_grant_job
from relink.grants.reconnect import repair_grant
from relink.importers.caller import ImporterCaller
from relink.importers.confirmations import confirm_imports
from relink.models import DataSource, Grant, WebhookDelivery
from relink.notifications.webhook_events import PAYLOADS
from relink.notifications.webhooks import create_endpoint
from relink.providers.results import ExternalIdentity, TokenSet
from relink.sandbox import seed
from relink.status import DataSourceStatus
from relink.worker.context import JobContext
from relink.worker.sweep import sweep
from tests.fixtures.clock import Clock
from tests.fixtures.demo import Demo
from tests.fixtures.sandbox import SandboxServer
from tests.importers.conftest import MANAGER, make_external, shared_sources

GAP_DAYS = 4
EVENT = "data_source.backfill_requested"


@pytest.fixture(autouse=True)
def local_receivers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RELINK_WEBHOOK_ALLOWED_HOSTS", "127.0.0.1")
    get_settings.cache_clear()


async def _repaired_after_an_outage(
    session: AsyncSession, demo: Demo, ctx: JobContext, clock: Clock, sandbox: SandboxServer
) -> list[int]:
    """Every shared source external, complete until GAP_DAYS ago, revoked, then reconnected."""
    ids = [s.id for s in await shared_sources(session, demo)]
    await make_external(ctx.database, ids)
    await session.execute(
        update(DataSource)
        .where(DataSource.id.in_(ids))
        .values(complete_through=clock().date() - timedelta(days=GAP_DAYS), account_timezone="UTC")
    )
    await session.commit()
    sandbox.add_fault("revoke_grant", grant=MANAGER.email)
    await sweep(ctx, check_every_grant=True)
    sandbox.reset()
    tokens = sandbox.connect(MANAGER.email)
    grant = await session.get_one(Grant, demo.shared_grant_id, populate_existing=True)
    await repair_grant(
        session,
        ctx=ctx,
        grant=grant,
        tokens=TokenSet(tokens["access_token"], tokens["refresh_token"], None),
        identity=ExternalIdentity(MANAGER.subject, email=MANAGER.email),
        reachable_account_ids={a.id for a in seed.MANAGER_SUB_ACCOUNTS},
        now=clock(),
        actor=f"user:{demo.admin.id}",
    )
    await session.commit()
    return ids


async def test_the_backfill_asks_the_importers_for_each_sources_missed_days(
    session: AsyncSession, demo: Demo, ctx: JobContext, clock: Clock, sandbox: SandboxServer
) -> None:
    await create_endpoint(
        session,
        box=ctx.box,
        agency_id=demo.agency.id,
        url="http://127.0.0.1:9/hook",
        events=[EVENT],
    )
    await session.commit()
    ids = await _repaired_after_an_outage(session, demo, ctx, clock, sandbox)
    calls = sum(sandbox.state.stats.api_requests_by_account.values())

    imported = await backfill_grant_job(ctx, grant_id=demo.shared_grant_id)

    assert imported == 0
    assert sum(sandbox.state.stats.api_requests_by_account.values()) == calls
    session.expire_all()
    sent = list(
        await session.scalars(select(WebhookDelivery).where(WebhookDelivery.event == EVENT))
    )
    assert sorted(d.payload["data"]["data_source_id"] for d in sent) == sorted(ids)
    first = (clock().date() - timedelta(days=GAP_DAYS - 1)).isoformat()
    assert {d.payload["data"]["first_day"] for d in sent} == {first}
    for delivery in sent:
        PAYLOADS[EVENT].model_validate(delivery.payload)


async def test_a_backfill_job_run_again_asks_no_second_time(
    session: AsyncSession, demo: Demo, ctx: JobContext, clock: Clock, sandbox: SandboxServer
) -> None:
    await create_endpoint(
        session, box=ctx.box, agency_id=demo.agency.id, url="http://127.0.0.1:9/h", events=[EVENT]
    )
    await session.commit()
    ids = await _repaired_after_an_outage(session, demo, ctx, clock, sandbox)
    await backfill_grant_job(ctx, grant_id=demo.shared_grant_id)

    await backfill_grant_job(ctx, grant_id=demo.shared_grant_id)

    count = select(func.count()).where(WebhookDelivery.event == EVENT)
    assert await session.scalar(count) == len(ids)


async def test_the_importers_confirmations_close_the_gap(
    session: AsyncSession, demo: Demo, ctx: JobContext, clock: Clock, sandbox: SandboxServer
) -> None:
    ids = await _repaired_after_an_outage(session, demo, ctx, clock, sandbox)
    caller = ImporterCaller(demo.agency.id, "api_token:1", IMPORTER)

    for source_id in ids:
        await confirm_imports(
            session,
            ctx,
            caller=caller,
            data_source_id=source_id,
            first=clock().date() - timedelta(days=GAP_DAYS - 1),
            last=clock().date(),
        )
    await session.commit()

    rows = await shared_sources(session, demo)
    assert {r.status for r in rows} == {DataSourceStatus.CONNECTED}
    assert {r.backfill_from for r in rows} == {None}
    assert {r.complete_through for r in rows} == {clock().date() - timedelta(days=1)}
