"""One re-authorization repairs every client of the grant; nothing else ever binds silently."""

from __future__ import annotations

import time
from datetime import date, timedelta
from urllib.parse import parse_qsl, urlsplit

import httpx
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relink.demo import DEMO_PASSWORD
from relink.models import DailyMetric, DataSource, Grant, OAuthState
from relink.status import DataSourceStatus, GrantStatus
from tests.fixtures.app_server import signed_in, with_csrf
from tests.fixtures.demo import Demo
from tests.fixtures.oauth_dance import consent, reconnect
from tests.fixtures.sandbox import Pkce, SandboxServer
from tests.fixtures.sweeps import sweep_now

MANAGER = "manager@sandbox.test"
OTHER = "other@sandbox.test"
GAP_DAYS = 6


async def _outage(
    session: AsyncSession, demo: Demo, admin: httpx.Client, sandbox: SandboxServer
) -> None:
    """The shared grant was revoked a few days ago: its sources miss the days since."""
    gap_start = date.today() - timedelta(days=GAP_DAYS)
    shared = select(DataSource.id).where(DataSource.grant_id == demo.shared_grant_id)
    await session.execute(
        update(DataSource)
        .where(DataSource.id.in_(shared))
        .values(complete_through=gap_start - timedelta(days=1))
    )
    await session.execute(
        delete(DailyMetric).where(
            DailyMetric.data_source_id.in_(shared), DailyMetric.day >= gap_start
        )
    )
    await session.commit()
    sandbox.add_fault("revoke_grant", grant=MANAGER)
    sweep_now(admin)


async def _statuses(session: AsyncSession, grant_id: int) -> list[DataSourceStatus]:
    session.expire_all()
    return list(
        await session.scalars(select(DataSource.status).where(DataSource.grant_id == grant_id))
    )


def _wait_for_backfill(admin: httpx.Client, grant_id: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while admin.get(f"/api/grants/{grant_id}").json()["backfills"]:
        assert time.monotonic() < deadline, "the backfill did not finish"
        time.sleep(0.2)


async def test_one_reauthorization_repairs_all_eight_and_fills_the_gap(
    session: AsyncSession, demo: Demo, admin: httpx.Client, sandbox: SandboxServer, app_url: str
) -> None:
    await _outage(session, demo, admin, sandbox)
    assert await _statuses(session, demo.shared_grant_id) == [DataSourceStatus.DISCONNECTED] * 8

    answer = reconnect(admin, sandbox, grant_id=demo.shared_grant_id, email=MANAGER)

    assert answer.status_code == 303
    assert answer.headers["location"] == f"/grants/{demo.shared_grant_id}/reconnected"
    assert await _statuses(session, demo.shared_grant_id) == [DataSourceStatus.CONNECTED] * 8
    _wait_for_backfill(admin, demo.shared_grant_id)
    session.expire_all()
    sources = list(
        await session.scalars(select(DataSource).where(DataSource.grant_id == demo.shared_grant_id))
    )
    # Today is imported as far as it goes, but it is not complete before it is over.
    assert {s.complete_through for s in sources} == {date.today() - timedelta(days=1)}
    for source in sources:
        since = date.today() - timedelta(days=GAP_DAYS)
        query = select(DailyMetric.day).where(
            DailyMetric.data_source_id == source.id, DailyMetric.day >= since
        )
        days = set(await session.scalars(query))
        assert len(days) == GAP_DAYS + 1


async def test_after_the_repair_everyone_s_notification_is_resolved(
    session: AsyncSession, demo: Demo, admin: httpx.Client, sandbox: SandboxServer, app_url: str
) -> None:
    await _outage(session, demo, admin, sandbox)

    reconnect(admin, sandbox, grant_id=demo.shared_grant_id, email=MANAGER)

    for email in ("admin", "staff", "limited"):
        client = signed_in(app_url, f"{email}@demo.relink.test", DEMO_PASSWORD)
        assert client.get("/api/notifications/unread-count").json() == {"unread": 0}
        resolved = client.get("/api/notifications", params={"show": "resolved"}).json()["items"]
        assert len(resolved) == 1


async def test_the_result_page_lists_every_reconnected_client(
    session: AsyncSession, demo: Demo, admin: httpx.Client, sandbox: SandboxServer
) -> None:
    await _outage(session, demo, admin, sandbox)

    answer = reconnect(admin, sandbox, grant_id=demo.shared_grant_id, email=MANAGER)
    page = admin.get(answer.headers["location"])

    assert (
        "All reconnected" in page.text
        and "Acme Dental" in page.text
        and "Harbor Hotel" in page.text
    )


async def test_a_different_login_binds_nothing_and_shows_what_it_can_reach(
    session: AsyncSession, demo: Demo, admin: httpx.Client, sandbox: SandboxServer
) -> None:
    await _outage(session, demo, admin, sandbox)

    answer = reconnect(admin, sandbox, grant_id=demo.shared_grant_id, email=OTHER)

    assert answer.status_code == 303 and answer.headers["location"].startswith("/oauth/choose/")
    assert await _statuses(session, demo.shared_grant_id) == [DataSourceStatus.DISCONNECTED] * 8
    page = admin.get(answer.headers["location"]).text
    assert "That was a different login" in page
    assert page.count('name="data_source"') == 3
    assert "cannot reach" in page


async def test_choosing_moves_only_the_chosen_source_to_the_new_login(
    session: AsyncSession, demo: Demo, admin: httpx.Client, sandbox: SandboxServer
) -> None:
    await _outage(session, demo, admin, sandbox)
    choose = reconnect(admin, sandbox, grant_id=demo.shared_grant_id, email=OTHER).headers[
        "location"
    ]
    page = admin.get(choose).text
    first_id = int(page.split('name="data_source" value="')[1].split('"')[0])

    moved = admin.post(choose, data={"data_source": str(first_id)})

    assert moved.status_code == 303
    session.expire_all()
    source = await session.get(DataSource, first_id)
    assert source is not None
    assert source.status is DataSourceStatus.CONNECTED
    assert source.grant_id != demo.shared_grant_id
    new_login = await session.get_one(Grant, source.grant_id)
    assert source.auth_kind is new_login.auth_kind
    assert await _statuses(session, demo.shared_grant_id) == [DataSourceStatus.DISCONNECTED] * 7


async def _nothing_changed(session: AsyncSession, demo: Demo) -> None:
    assert await _statuses(session, demo.shared_grant_id) == [DataSourceStatus.DISCONNECTED] * 8
    grant = await session.get(Grant, demo.shared_grant_id, populate_existing=True)
    assert grant is not None and grant.status is GrantStatus.DISCONNECTED


async def test_a_replayed_callback_changes_nothing_and_says_so(
    session: AsyncSession, demo: Demo, admin: httpx.Client, sandbox: SandboxServer
) -> None:
    await _outage(session, demo, admin, sandbox)
    started = admin.post(f"/grants/{demo.shared_grant_id}/reconnect")
    query = consent(sandbox, started.headers["location"], email=MANAGER)
    admin.get(f"/oauth/callback?{query}")
    sandbox.add_fault("revoke_grant", grant=MANAGER)
    # The reconnect's backfill may already have imported every missed day, so only a due
    # refresh makes the sweep meet the revocation; without this the test raced the backfill.
    await session.execute(
        update(Grant)
        .where(Grant.id == demo.shared_grant_id)
        .values(next_refresh_at=Grant.last_refreshed_at)
    )
    await session.commit()
    sweep_now(admin)

    replay = admin.get(f"/oauth/callback?{query}")

    assert replay.status_code == 400 and "already completed" in replay.text
    await _nothing_changed(session, demo)


async def test_a_forged_state_changes_nothing(
    session: AsyncSession, demo: Demo, admin: httpx.Client, sandbox: SandboxServer
) -> None:
    await _outage(session, demo, admin, sandbox)

    answer = admin.get("/oauth/callback", params={"state": "forged-state", "code": "x"})

    assert answer.status_code == 400 and "not one Relink started" in answer.text
    await _nothing_changed(session, demo)


async def test_an_expired_state_changes_nothing(
    session: AsyncSession, demo: Demo, admin: httpx.Client, sandbox: SandboxServer
) -> None:
    await _outage(session, demo, admin, sandbox)
    started = admin.post(f"/grants/{demo.shared_grant_id}/reconnect")
    query = consent(sandbox, started.headers["location"], email=MANAGER)
    await session.execute(update(OAuthState).values(expires_at=OAuthState.created_at))
    await session.commit()

    answer = admin.get(f"/oauth/callback?{query}")

    assert answer.status_code == 400 and "expired" in answer.text
    await _nothing_changed(session, demo)


async def test_a_code_without_our_pkce_verifier_changes_nothing(
    session: AsyncSession, demo: Demo, admin: httpx.Client, sandbox: SandboxServer
) -> None:
    await _outage(session, demo, admin, sandbox)
    started = admin.post(f"/grants/{demo.shared_grant_id}/reconnect")
    params = dict(parse_qsl(urlsplit(started.headers["location"]).query))
    params["code_challenge"] = Pkce.new().challenge  # a code bound to someone else's verifier
    back = sandbox.submit_consent(params, email=MANAGER).headers["location"]

    answer = admin.get(f"/oauth/callback?{urlsplit(back).query}")

    assert answer.status_code == 400 and "refused the sign-in code" in answer.text
    await _nothing_changed(session, demo)


async def test_a_state_from_another_users_session_changes_nothing(
    session: AsyncSession, demo: Demo, admin: httpx.Client, sandbox: SandboxServer, app_url: str
) -> None:
    await _outage(session, demo, admin, sandbox)
    started = admin.post(f"/grants/{demo.shared_grant_id}/reconnect")
    query = consent(sandbox, started.headers["location"], email=MANAGER)
    staff = signed_in(app_url, "staff@demo.relink.test", DEMO_PASSWORD)

    answer = staff.get(f"/oauth/callback?{query}")

    assert answer.status_code == 400 and "another browser session" in answer.text
    await _nothing_changed(session, demo)


async def test_declining_at_the_provider_changes_nothing(
    session: AsyncSession, demo: Demo, admin: httpx.Client, sandbox: SandboxServer
) -> None:
    await _outage(session, demo, admin, sandbox)
    started = admin.post(f"/grants/{demo.shared_grant_id}/reconnect")
    params = dict(parse_qsl(urlsplit(started.headers["location"]).query))
    back = sandbox.submit_consent(params, email=MANAGER, decision="deny").headers["location"]

    answer = admin.get(f"/oauth/callback?{urlsplit(back).query}")

    assert answer.status_code == 400 and "did not grant access" in answer.text
    await _nothing_changed(session, demo)


async def test_a_client_login_cannot_start_a_reconnect(demo: Demo, app_url: str) -> None:
    client_user = signed_in(app_url, "client@demo.relink.test", DEMO_PASSWORD)

    answer = client_user.post(f"/api/grants/{demo.shared_grant_id}/reconnect")

    assert answer.status_code in (403, 404)


async def test_a_client_reconnect_link_works_once_for_the_pinned_login(
    session: AsyncSession, demo: Demo, admin: httpx.Client, sandbox: SandboxServer, app_url: str
) -> None:
    await _outage(session, demo, admin, sandbox)
    link = admin.post(
        f"/api/grants/{demo.shared_grant_id}/reconnect-links", json={"days": 7}
    ).json()
    path = urlsplit(link["url"]).path
    person = with_csrf(httpx.Client(base_url=app_url))
    assert "Sign in and reconnect" in person.get(path).text

    started = person.post(path)
    query = consent(sandbox, started.headers["location"], email=MANAGER)
    done = person.get(f"/oauth/callback?{query}")

    assert done.status_code == 200 and "repaired" in done.text
    assert await _statuses(session, demo.shared_grant_id) == [DataSourceStatus.CONNECTED] * 8
    assert person.get(path).status_code == 410


async def test_a_client_link_refuses_another_login(
    session: AsyncSession, demo: Demo, admin: httpx.Client, sandbox: SandboxServer, app_url: str
) -> None:
    await _outage(session, demo, admin, sandbox)
    link = admin.post(f"/api/grants/{demo.shared_grant_id}/reconnect-links", json={}).json()
    person = with_csrf(httpx.Client(base_url=app_url))
    started = person.post(urlsplit(link["url"]).path)
    query = consent(sandbox, started.headers["location"], email=OTHER)

    answer = person.get(f"/oauth/callback?{query}")

    assert answer.status_code == 409 and "different login" in answer.text
    await _nothing_changed(session, demo)


async def test_reconnecting_ahead_of_expiry_clears_the_expires_soon_notice(
    session: AsyncSession, demo: Demo, admin: httpx.Client, sandbox: SandboxServer
) -> None:
    from relink.incidents import service as incidents
    from relink.models.base import utcnow
    from relink.providers.taxonomy import ErrorClass

    await incidents.open_or_extend(
        session,
        agency_id=demo.agency.id,
        key=f"grant:{demo.shared_grant_id}:expires_soon",
        error_class=ErrorClass.AUTH_EXPIRED,
        provider="sandbox",
        now=utcnow(),
        kind="expires_soon",
        grant_id=demo.shared_grant_id,
        hint="Renew the sign-in soon.",
    )
    await session.commit()
    assert admin.get("/api/notifications/unread-count").json() == {"unread": 1}

    answer = reconnect(admin, sandbox, grant_id=demo.shared_grant_id, email=MANAGER)

    assert answer.status_code == 303
    assert admin.get("/api/notifications/unread-count").json() == {"unread": 0}
