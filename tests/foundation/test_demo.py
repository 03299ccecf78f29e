"""The demo agency holds what the issue promises."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, timedelta

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relink.auth.passwords import hash_password
from relink.demo import DEMO_DAYS, DEMO_LOGINS, DEMO_PASSWORD
from relink.models import Agency, Client, DailyMetric, DataSource, Grant, Role, User
from relink.models.base import utcnow
from relink.providers.taxonomy import AuthKind
from relink.users.service import create_user
from tests.fixtures.app_server import run_app
from tests.fixtures.demo import Demo, data_sources_of


async def test_the_demo_has_twelve_clients_and_four_kinds_of_login(
    session: AsyncSession, demo: Demo
) -> None:
    assert await session.scalar(select(func.count()).select_from(Client)) == 12
    roles = Counter(u.role for u in await session.scalars(select(User)))
    assert roles == {Role.ADMIN: 1, Role.STAFF: 2, Role.CLIENT: 1}
    assert demo.staff.all_clients and not demo.limited.all_clients


async def test_one_shared_grant_serves_eight_clients_and_another_three(
    session: AsyncSession, demo: Demo
) -> None:
    shared = await data_sources_of(session, demo.shared_grant)
    second = await data_sources_of(session, demo.second_grant)

    assert len({s.client_id for s in shared}) == 8
    assert len({s.client_id for s in second}) == 3
    assert demo.shared_grant.auth_kind is AuthKind.OAUTH2


async def test_four_clients_have_an_api_key_data_source_each(
    session: AsyncSession, demo: Demo
) -> None:
    key_grants = list(
        await session.scalars(select(Grant).where(Grant.auth_kind == AuthKind.API_KEY))
    )
    sources = list(
        await session.scalars(
            select(DataSource).where(DataSource.grant_id.in_([g.id for g in key_grants]))
        )
    )

    assert len(key_grants) == 4
    assert len({s.client_id for s in sources}) == 4


async def test_every_data_source_has_ninety_complete_days(
    session: AsyncSession, demo: Demo
) -> None:
    yesterday = date.today() - timedelta(days=1)
    per_source = dict(
        (
            await session.execute(
                select(DailyMetric.data_source_id, func.count()).group_by(
                    DailyMetric.data_source_id
                )
            )
        ).all()
    )
    sources = list(await session.scalars(select(DataSource)))

    assert len(sources) == 15
    assert all(per_source[s.id] == DEMO_DAYS for s in sources)
    assert all(s.complete_through == yesterday for s in sources)


def _login_page(url: str) -> str:
    # A plain GET from the test's thread: the app serves it from its own thread.
    return httpx.get(f"{url}/login", timeout=10).text


def _demo_box(page: str) -> str | None:
    box = re.search(r'<aside class="card narrow demo-logins".*?</aside>', page, re.S)
    return None if box is None else re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", box.group(0)))


def test_the_login_page_offers_the_demo_logins_while_the_demo_is_the_only_agency(
    app_url: str,
) -> None:
    with httpx.Client(base_url=app_url, timeout=10) as browser:
        # when
        page = browser.get("/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert token is not None
        refused = browser.post(
            "/login",
            data={"email": "nobody@x.test", "password": "x", "csrf_token": token.group(1)},
        )
        box = _demo_box(page)

        # then: every demo login and the shared password, and they do sign in
        assert box is not None and "Demo logins" in box
        assert all(login.email in box for login in DEMO_LOGINS)
        assert DEMO_PASSWORD in box
        assert refused.status_code == 401 and _demo_box(refused.text) == box
        signed_in = browser.post(
            "/api/session", json={"email": DEMO_LOGINS[0].email, "password": DEMO_PASSWORD}
        )
        assert signed_in.status_code == 200


async def test_the_login_page_hides_the_demo_logins_once_a_second_agency_exists(
    session: AsyncSession, app_url: str
) -> None:
    session.add(Agency(name="Real Agency", slug="real-agency"))
    await session.commit()

    page = _login_page(app_url)

    assert _demo_box(page) is None
    assert DEMO_PASSWORD not in page and "demo.relink.test" not in page


async def test_the_login_page_leaves_out_a_demo_login_whose_password_changed(
    session: AsyncSession, app_url: str
) -> None:
    changed, *kept = DEMO_LOGINS
    await session.execute(
        update(User)
        .where(User.email == changed.email)
        .values(password_hash=hash_password("someone-changed-it"))
    )
    await session.commit()

    box = _demo_box(_login_page(app_url))

    assert box is not None
    assert changed.email not in box
    assert all(login.email in box for login in kept)


@pytest.mark.parametrize("agency", [None, "Real Agency"], ids=["no agency", "only another"])
async def test_the_login_page_shows_no_demo_logins_without_the_demo_agency(
    session: AsyncSession,
    database_url: str,
    secret_key: str,
    monkeypatch: pytest.MonkeyPatch,
    agency: str | None,
) -> None:
    if agency is not None:
        # The demo's users' e-mails on another agency do not make it the demo.
        real = Agency(name=agency, slug="real-agency")
        session.add(real)
        await session.flush()
        await create_user(
            session,
            agency_id=real.id,
            email=DEMO_LOGINS[0].email,
            name="Not Demo",
            password=DEMO_PASSWORD,
            role=Role.ADMIN,
            now=utcnow(),
        )
        await session.commit()

    with run_app(
        monkeypatch,
        database_url=database_url,
        secret_key=secret_key,
        sandbox_url="http://127.0.0.1:9",
    ) as running:
        page = _login_page(running.url)

    assert "Sign in" in page
    assert _demo_box(page) is None
    assert DEMO_PASSWORD not in page
