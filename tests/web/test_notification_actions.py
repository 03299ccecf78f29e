"""Every notification's button leads to a real page that does what the button says."""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.incidents import service as incidents
from relink.models import DataSource, Grant, Notification, SyncRun
from relink.models.base import utcnow
from relink.notifications import kinds
from relink.providers.taxonomy import AuthKind, ErrorClass
from relink.sandbox import seed
from tests.fixtures.demo import Demo

# The import the button queues runs in the app's own process; allow a busy machine time.
IMPORT_DEADLINE_SECONDS = 15


async def _oauth_source(session: AsyncSession, demo: Demo) -> DataSource:
    source = await session.scalar(
        select(DataSource)
        .where(DataSource.grant_id == demo.shared_grant_id)
        .order_by(DataSource.id)
    )
    assert source is not None
    return source


async def _api_key_source(session: AsyncSession) -> DataSource:
    source = await session.scalar(
        select(DataSource)
        .join(Grant, Grant.id == DataSource.grant_id)
        .where(Grant.auth_kind == AuthKind.API_KEY)
        .order_by(DataSource.id)
    )
    assert source is not None
    return source


async def _open(
    session: AsyncSession,
    demo: Demo,
    *,
    error_class: ErrorClass,
    source: DataSource | None,
    kind: str | None = None,
    key: str | None = None,
    provider: str = "sandbox",
) -> int:
    """Open an incident the way a failure would; returns the admin's notification id."""
    opened = await incidents.open_or_extend(
        session,
        agency_id=demo.agency.id,
        error_class=error_class,
        provider=provider,
        now=utcnow(),
        kind=kind,
        key=key or f"data_source:{source.id if source else 0}:{error_class.value}",
        grant_id=source.grant_id if source else None,
        data_source_id=source.id if source else None,
        data_source_ids=[source.id] if source else [],
    )
    await session.commit()
    notification_id = await session.scalar(
        select(Notification.id).where(
            Notification.incident_id == opened.incident.id,
            Notification.user_id == demo.admin.id,
        )
    )
    assert notification_id is not None
    return notification_id


def _act(admin: httpx.Client, notification_id: int) -> str:
    answer = admin.post(f"/notifications/{notification_id}/act")
    assert answer.status_code == 303
    return answer.headers["location"]


async def _manual_runs(session: AsyncSession, data_source_id: int) -> list[SyncRun]:
    session.expire_all()
    query = select(SyncRun).where(
        SyncRun.data_source_id == data_source_id, SyncRun.trigger == "manual"
    )
    return list(await session.scalars(query))


async def test_try_again_on_a_failed_upload_starts_the_import_and_lands_on_its_page(
    session: AsyncSession, demo: Demo, admin: httpx.Client
) -> None:
    source = await _oauth_source(session, demo)
    source_id, account = source.id, source.external_account_name
    notification_id = await _open(session, demo, error_class=ErrorClass.DATA_ERROR, source=source)
    assert await _manual_runs(session, source_id) == []

    target = _act(admin, notification_id)
    page = admin.get(target)

    assert urlsplit(target).path == f"/data-sources/{source_id}"
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "Import started" in page.text and account in page.text
    deadline = time.monotonic() + IMPORT_DEADLINE_SECONDS
    while not await _manual_runs(session, source_id):
        assert time.monotonic() < deadline, "Try again queued no import"
        await asyncio.sleep(0.1)
    read = await session.scalar(
        select(Notification.read_at).where(Notification.id == notification_id)
    )
    assert read is not None
    # Its page lists the import that was started.
    assert "Manual" in admin.get(f"/data-sources/{source_id}").text


async def test_try_again_on_a_paused_source_starts_nothing_and_says_why(
    session: AsyncSession, demo: Demo, admin: httpx.Client
) -> None:
    source = await _oauth_source(session, demo)
    source_id = source.id
    assert admin.post(f"/data-sources/{source_id}/pause").status_code == 303
    notification_id = await _open(session, demo, error_class=ErrorClass.DATA_ERROR, source=source)

    page = admin.get(_act(admin, notification_id))

    assert page.status_code == 200
    assert "No import was started" in page.text and "Resume" in page.text
    assert await _manual_runs(session, source_id) == []


async def test_check_app_settings_shows_the_provider_app_without_its_secret(
    session: AsyncSession, demo: Demo, admin: httpx.Client
) -> None:
    notification_id = await _open(
        session,
        demo,
        error_class=ErrorClass.APP_MISCONFIGURED,
        source=None,
        key=incidents.provider_key("sandbox", ErrorClass.APP_MISCONFIGURED),
    )

    target = _act(admin, notification_id)
    page = admin.get(target)

    assert target == "/settings/providers#sandbox"
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'id="sandbox"' in page.text and "Refused" in page.text
    assert seed.CLIENT_ID in page.text
    assert seed.CLIENT_SECRET not in page.text
    assert "/oauth/callback" in page.text and "RELINK_OAUTH_CLIENTS" in page.text


async def test_the_provider_apps_page_is_for_admins_only(demo: Demo, app_url: str) -> None:
    from relink.demo import DEMO_PASSWORD
    from tests.fixtures.app_server import signed_in

    staff = signed_in(app_url, "staff@demo.relink.test", DEMO_PASSWORD)

    answer = staff.get("/settings/providers")

    assert answer.status_code == 404 and answer.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    ("kind", "error_class", "source_kind"),
    [
        (kinds.RECONNECT_NEEDED, ErrorClass.AUTH_REVOKED, "oauth"),
        (kinds.RECONNECT_NEEDED, ErrorClass.INVALID_CREDENTIALS, "api_key"),
        (kinds.UPLOAD_FAILED, ErrorClass.DATA_ERROR, "oauth"),
        (kinds.DATA_DELAYED, ErrorClass.PROVIDER_UNAVAILABLE, "oauth"),
        (kinds.EXPIRES_SOON, ErrorClass.AUTH_EXPIRED, "oauth"),
        (kinds.OPERATIONS_ALERT, ErrorClass.APP_MISCONFIGURED, None),
    ],
)
async def test_every_kind_of_notification_leads_to_a_real_page(
    session: AsyncSession,
    demo: Demo,
    admin: httpx.Client,
    kind: str,
    error_class: ErrorClass,
    source_kind: str | None,
) -> None:
    source = None
    if source_kind == "oauth":
        source = await _oauth_source(session, demo)
    elif source_kind == "api_key":
        source = await _api_key_source(session)
    notification_id = await _open(
        session,
        demo,
        error_class=error_class,
        source=source,
        kind=kind,
        provider=source.provider if source else "sandbox",
    )
    note = kinds.parse(
        (
            await session.scalar(
                select(Notification.payload).where(Notification.id == notification_id)
            )
        )
        or {}
    )
    assert note.kind == kind

    page = admin.get(_act(admin, notification_id))

    assert page.status_code == 200, page.text[:300]
    assert page.headers["content-type"].startswith("text/html")
    assert "<h1>" in page.text and '"detail"' not in page.text


async def test_a_missing_data_source_page_is_the_styled_not_found_page(admin: httpx.Client) -> None:
    answer = admin.get("/data-sources/987654")

    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html")
    assert "data source not found" in answer.text.lower()
