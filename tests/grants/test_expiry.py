"""Expires soon: a grant near its provider's documented end is announced once, before it breaks."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relink.grants.expiry import watch
from relink.kit.crypto import SecretBox
from relink.models import Grant, Notification, WebhookDelivery
from relink.notifications import service as inbox
from relink.notifications import webhooks
from relink.providers.catalog import load_catalog
from tests.fixtures.clock import Clock
from tests.fixtures.demo import Demo

GOOGLE = frozenset({"google_ads"})


async def _as_google_ads(session: AsyncSession, demo: Demo, **values: object) -> None:
    """The demo's shared grant, as if it were a Google Ads login."""
    await session.execute(
        update(Grant)
        .where(Grant.id == demo.shared_grant_id)
        .values(provider="google_ads", **values)
    )
    await session.commit()


async def test_a_testing_mode_app_warns_two_days_before_the_seventh_day(
    session: AsyncSession, demo: Demo, clock: Clock
) -> None:
    await _as_google_ads(session, demo, created_at=clock() - timedelta(days=6))

    found = await watch(session, catalog=load_catalog(), now=clock(), testing_apps=GOOGLE)
    await session.commit()

    assert [e.grant_id for e in found] == [demo.shared_grant_id]
    (item,) = (await inbox.list_notifications(session, user=demo.admin)).items
    assert item.content.kind == "expires_soon"
    assert item.content.action.label == "Reconnect"
    assert item.content.expires_on == (clock() + timedelta(days=1)).date()  # type: ignore[union-attr]


async def test_a_published_app_has_no_seven_day_clock(
    session: AsyncSession, demo: Demo, clock: Clock
) -> None:
    await _as_google_ads(session, demo, created_at=clock() - timedelta(days=6))

    found = await watch(session, catalog=load_catalog(), now=clock())

    assert found == []


async def test_a_grant_idle_for_almost_six_months_is_announced(
    session: AsyncSession, demo: Demo, clock: Clock
) -> None:
    idle_since = clock() - timedelta(days=175)
    await _as_google_ads(session, demo, created_at=idle_since, last_refreshed_at=idle_since)

    found = await watch(session, catalog=load_catalog(), now=clock())

    assert [e.grant_id for e in found] == [demo.shared_grant_id]


async def test_watching_again_announces_nothing_new(
    session: AsyncSession, demo: Demo, clock: Clock
) -> None:
    await _as_google_ads(session, demo, created_at=clock() - timedelta(days=6))
    await watch(session, catalog=load_catalog(), now=clock(), testing_apps=GOOGLE)
    await session.commit()
    before = await session.scalar(select(func.count()).select_from(Notification))

    clock.advance(hours=1)
    await watch(session, catalog=load_catalog(), now=clock(), testing_apps=GOOGLE)
    await session.commit()

    assert await session.scalar(select(func.count()).select_from(Notification)) == before


async def test_subscribed_webhooks_get_grant_expires_soon(
    session: AsyncSession, demo: Demo, clock: Clock, box: SecretBox
) -> None:
    await webhooks.create_endpoint(
        session,
        box=box,
        agency_id=demo.agency.id,
        url="https://hooks.example/relink",
        events=["grant.expires_soon"],
    )
    await _as_google_ads(session, demo, created_at=clock() - timedelta(days=6))

    await watch(session, catalog=load_catalog(), now=clock(), testing_apps=GOOGLE)
    await session.commit()

    events = list(await session.scalars(select(WebhookDelivery.event)))
    assert events and set(events) == {"grant.expires_soon"}
