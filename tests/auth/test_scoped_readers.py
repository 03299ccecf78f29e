"""Every reader goes through the access rule: no scope argument can be left out, and the readers
that used to read everything when it was (health, backfills, the choose page) now read only
what a limited staff user may see."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from collections import Counter
from datetime import date, timedelta

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

import relink
from relink.auth.access import operator_scope, scope_of, visible_client_ids
from relink.clients import health
from relink.data_sources import rows
from relink.data_sources.health import health_by_client, health_by_provider
from relink.demo import DEMO_PASSWORD
from relink.grants.backfill import backfills
from relink.grants.views import grant_view
from relink.incidents import service as incidents
from relink.models import Client, DataSource, Grant, User
from relink.providers.taxonomy import ErrorClass
from relink.status import DataSourceStatus, GrantStatus
from relink.users import preferences
from tests.fixtures.app_server import signed_in
from tests.fixtures.clock import Clock
from tests.fixtures.demo import Demo
from tests.fixtures.oauth_dance import reconnect
from tests.fixtures.sandbox import SandboxServer
from tests.fixtures.sweeps import sweep_now

LIMITED_CLIENTS = {"Acme Dental", "Juniper Florist"}
MANAGER = "manager@sandbox.test"
OTHER = "other@sandbox.test"
# The folders whose readers serve users; the sandbox, migrations and CLI wiring are not readers.
READER_PACKAGES = (
    "auth",
    "clients",
    "data_sources",
    "events",
    "grants",
    "incidents",
    "metrics",
    "notifications",
    "users",
    "web",
)
SCOPE_PARAMETERS = {"user", "scope"}


def _reader_functions() -> list[tuple[str, inspect.Signature]]:
    found = []
    for package in READER_PACKAGES:
        module = importlib.import_module(f"relink.{package}")
        names = [module.__name__] + [
            f"{module.__name__}.{info.name}" for info in pkgutil.iter_modules(module.__path__)
        ]
        for name in names:
            loaded = importlib.import_module(name)
            for attr, value in vars(loaded).items():
                if inspect.isfunction(value) and value.__module__ == name:
                    found.append((f"{name}.{attr}", inspect.signature(value)))
    return found


def test_no_reader_has_a_default_scope() -> None:
    # given every function of the domain and web folders
    functions = _reader_functions()
    assert len(functions) > 100, relink.__name__

    # then none lets its user or scope be left out
    defaulted = [
        name
        for name, signature in functions
        for parameter in signature.parameters.values()
        if parameter.name in SCOPE_PARAMETERS and parameter.default is not inspect.Parameter.empty
    ]
    assert defaulted == []


def test_an_operator_scope_must_say_why() -> None:
    with pytest.raises(ValueError, match="why"):
        operator_scope("  ")


async def _visible_sources(session: AsyncSession, demo: Demo) -> list[DataSource]:
    allowed = visible_client_ids(demo.limited)
    return list(await session.scalars(select(DataSource).where(DataSource.client_id.in_(allowed))))


async def test_health_by_provider_counts_only_what_the_limited_user_may_see(
    session: AsyncSession, demo: Demo
) -> None:
    expected = Counter(s.provider for s in await _visible_sources(session, demo))

    rows = await health_by_provider(session, scope=scope_of(demo.limited))

    assert {row.name: row.total for row in rows} == dict(expected)
    everything = await health_by_provider(session, scope=operator_scope("test: all of it"))
    assert sum(r.total for r in everything) > sum(expected.values())


async def test_health_by_client_lists_only_the_limited_user_s_clients(
    session: AsyncSession, demo: Demo
) -> None:
    rows = await health_by_client(session, scope=scope_of(demo.limited))

    assert {row.name for row in rows} == LIMITED_CLIENTS


async def test_backfills_list_only_what_the_limited_user_may_see(
    session: AsyncSession, demo: Demo
) -> None:
    # given: every data source of the agency is filling a gap
    today = date.today()
    await session.execute(
        update(DataSource).values(
            backfill_from=today - timedelta(days=5), complete_through=today - timedelta(days=3)
        )
    )
    await session.commit()
    visible = {s.id for s in await _visible_sources(session, demo)}

    # when
    mine = await backfills(session, scope=scope_of(demo.limited), today=today)
    shared = await backfills(
        session, scope=scope_of(demo.limited), today=today, grant_id=demo.shared_grant_id
    )

    # then
    assert {p.data_source_id for p in mine} == visible
    assert {p.client_name for p in shared} == {"Acme Dental"}


async def test_the_grant_view_of_a_shared_grant_lists_only_visible_clients(
    session: AsyncSession, demo: Demo
) -> None:
    today = date.today()
    await session.execute(update(DataSource).values(backfill_from=today - timedelta(days=2)))
    await session.commit()

    view = await grant_view(session, user=demo.limited, grant_id=demo.shared_grant_id, today=today)

    assert [s.client_name for s in view.data_sources] == ["Acme Dental"]
    assert [b.client_name for b in view.backfills] == ["Acme Dental"]


@pytest.fixture
async def limited_on_the_choose_page(
    session: AsyncSession, demo: Demo, admin: httpx.Client, app_url: str, sandbox: SandboxServer
) -> tuple[httpx.Client, str]:
    """The shared grant broke; the limited user reconnected it with a different login."""
    sandbox.add_fault("revoke_grant", grant=MANAGER)
    sweep_now(admin)
    limited = signed_in(app_url, "limited@demo.relink.test", DEMO_PASSWORD)
    answer = reconnect(limited, sandbox, grant_id=demo.shared_grant_id, email=OTHER)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/oauth/choose/")
    return limited, answer.headers["location"]


async def test_a_limited_staff_user_on_the_choose_page_sees_only_their_clients(
    session: AsyncSession, demo: Demo, limited_on_the_choose_page: tuple[httpx.Client, str]
) -> None:
    limited, choose = limited_on_the_choose_page
    shared = {
        name
        for name in await session.scalars(
            select(Client.name)
            .join(DataSource, DataSource.client_id == Client.id)
            .where(DataSource.grant_id == demo.shared_grant_id)
        )
    }

    page = limited.get(choose).text

    assert "That was a different login" in page
    assert "Acme Dental" in page
    for name in shared - LIMITED_CLIENTS:
        assert name not in page, name
    assert len(re.findall(r'name="data_source"', page)) == 1


async def test_choosing_a_data_source_of_an_invisible_client_is_not_found(
    session: AsyncSession, demo: Demo, limited_on_the_choose_page: tuple[httpx.Client, str]
) -> None:
    limited, choose = limited_on_the_choose_page
    bluebird = await session.scalar(
        select(DataSource.id).where(DataSource.client_id == demo.client_named("Bluebird Bakery").id)
    )

    answer = limited.post(choose, data={"data_source": str(bluebird)})

    assert answer.status_code == 404


# The readers the pages call, as the pages call them: a limited staff user, then a client login.


async def _visible_names(session: AsyncSession, user: User) -> set[str]:
    query = select(Client.name).where(Client.id.in_(visible_client_ids(user)))
    return set(await session.scalars(query))


@pytest.mark.parametrize("who", ["limited", "client_user"])
async def test_the_client_pages_readers_list_only_visible_clients(
    session: AsyncSession, demo: Demo, who: str
) -> None:
    user: User = getattr(demo, who)
    expected = await _visible_names(session, user)

    summaries = await health.client_summaries(session, user=user)
    choices = await health.client_choices(session, user=user)
    rows = await health.client_rows(session, user=user)
    pickers = await preferences.visible_clients(session, user=user)

    assert {s.name for s in summaries} == expected
    assert {name for _, name in choices} == expected
    assert {r.client_name for r in rows} == expected
    assert {c.name for c in pickers} == expected


async def test_the_data_sources_page_counts_and_lists_only_what_the_limited_user_may_see(
    session: AsyncSession, demo: Demo
) -> None:
    visible = await _visible_sources(session, demo)
    expected = Counter(s.status for s in visible)

    counts = await health.status_counts(session, user=demo.limited)
    page = await rows.list_rows(session, user=demo.limited, limit=500)

    assert counts == dict(expected)
    assert {r.source.id for r in page.items} == {s.id for s in visible}


async def test_a_broken_shared_grant_counts_only_the_limited_user_s_waiting_sources(
    session: AsyncSession, demo: Demo
) -> None:
    # given: the shared grant is down and every one of its data sources waits for it
    await session.execute(
        update(Grant)
        .where(Grant.id == demo.shared_grant_id)
        .values(status=GrantStatus.DISCONNECTED)
    )
    await session.execute(
        update(DataSource)
        .where(DataSource.grant_id == demo.shared_grant_id)
        .values(status=DataSourceStatus.DISCONNECTED)
    )
    await session.commit()
    mine = [s for s in await _visible_sources(session, demo) if s.grant_id == demo.shared_grant_id]

    broken = await health.broken_grants(session, user=demo.limited)

    assert [(b.grant_id, b.waiting) for b in broken] == [(demo.shared_grant_id, len(mine))]


async def test_the_timeline_of_an_invisible_client_is_empty(
    session: AsyncSession, demo: Demo, clock: Clock
) -> None:
    # given: an incident on every data source of the shared grant
    shared = list(
        await session.scalars(
            select(DataSource.id).where(DataSource.grant_id == demo.shared_grant_id)
        )
    )
    await incidents.open_or_extend(
        session,
        agency_id=demo.agency.id,
        key=incidents.grant_key(demo.shared_grant_id, ErrorClass.AUTH_REVOKED),
        error_class=ErrorClass.AUTH_REVOKED,
        provider="sandbox",
        now=clock(),
        grant_id=demo.shared_grant_id,
        data_source_ids=shared,
    )
    await session.commit()
    acme = demo.client_named("Acme Dental")
    bluebird = demo.client_named("Bluebird Bakery")

    seen = await health.timeline(session, user=demo.limited, client_id=acme.id, now=clock())
    unseen = await health.timeline(session, user=demo.limited, client_id=bluebird.id, now=clock())

    assert len(seen) == 1
    assert unseen == []
