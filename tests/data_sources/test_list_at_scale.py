"""The Data Sources list at a modest scale: every sort, filter and search answers exactly the
rows a plain reading of the table says, and keyset pages go both ways without duplicates or
gaps (on both databases: the indexes differ, the answers must not)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relink.clients.service import find_clients, rename_client
from relink.data_sources.rows import STATUS_RANK, Filters, Row, Sort, list_rows
from relink.kit.pagination import Page
from relink.models import Client, DataSource, Grant, User, UserClientAccess
from relink.models.base import utcnow
from relink.providers.taxonomy import AuthKind
from relink.status import DataSourceStatus
from tests.fixtures.demo import Demo

EXTRA_CLIENTS = 24
# Names with LIKE's wildcards and mixed case: a search takes them literally, in any case.
NAMES = ("Zeta_Works", "100% Organic", "alpha Dental", "Beta Bakery", "ALPHA Motors")
STATUSES = (
    DataSourceStatus.CONNECTED,
    DataSourceStatus.FAILING,
    DataSourceStatus.DISCONNECTED,
    DataSourceStatus.PAUSED,
    DataSourceStatus.CONNECTED,
    DataSourceStatus.REMOVED,
)


@pytest.fixture
async def crowd(session: AsyncSession, demo: Demo) -> Demo:
    """The demo agency plus 24 clients with three data sources each, in every status."""
    now = utcnow()
    await session.execute(
        insert(Client),
        [
            {
                "agency_id": demo.agency.id,
                "name": f"{NAMES[n % len(NAMES)]} {n:02d}",
                "created_at": now,
                "updated_at": now,
            }
            for n in range(EXTRA_CLIENTS)
        ],
    )
    added = list(
        await session.execute(
            select(Client.id, Client.name)
            .where(Client.agency_id == demo.agency.id)
            .order_by(Client.id.desc())
            .limit(EXTRA_CLIENTS)
        )
    )
    await session.execute(
        insert(DataSource),
        [
            {
                "agency_id": demo.agency.id,
                "client_id": client_id,
                "client_name": name,
                "grant_id": demo.shared_grant_id if k % 2 else demo.second_grant_id,
                "auth_kind": (demo.shared_grant if k % 2 else demo.second_grant).auth_kind,
                "provider": "sandbox",
                "external_account_id": f"x-{client_id}-{k}",
                "external_account_name": f"Account {k} of {name}",
                "status": STATUSES[(client_id + k) % len(STATUSES)],
                "consecutive_failures": 0,
                "created_at": now,
                "updated_at": now,
            }
            for client_id, name in added
            for k in range(3)
        ],
    )
    await session.commit()
    return demo


async def _everything(session: AsyncSession) -> list[tuple[DataSource, AuthKind]]:
    rows = await session.execute(
        select(DataSource, Grant.auth_kind).join(Grant, Grant.id == DataSource.grant_id)
    )
    return [(source, kind) for source, kind in rows]


def _expected(
    everything: list[tuple[DataSource, AuthKind]],
    keep: Callable[[DataSource, AuthKind], bool],
    sort: Sort,
) -> list[int]:
    kept = [s for s, kind in everything if keep(s, kind)]
    if sort is Sort.STATUS:
        kept.sort(key=lambda s: (STATUS_RANK[s.status], s.id))
    else:
        kept.sort(key=lambda s: (s.client_name, s.id))
    return [s.id for s in kept]


async def _all_pages(
    session: AsyncSession, user: User, *, filters: Filters, sort: Sort, limit: int
) -> list[Page[Row]]:
    pages = [await list_rows(session, user=user, filters=filters, sort=sort, limit=limit)]
    while pages[-1].next_cursor:
        pages.append(
            await list_rows(
                session,
                user=user,
                filters=filters,
                sort=sort,
                limit=limit,
                cursor=pages[-1].next_cursor,
            )
        )
    return pages


def _live(source: DataSource) -> bool:
    return source.status is not DataSourceStatus.REMOVED


CASES: dict[str, tuple[Filters, Callable[[DataSource, AuthKind], bool]]] = {
    "everything": (Filters(), lambda s, k: _live(s)),
    "failing": (Filters(status=DataSourceStatus.FAILING), lambda s, k: s.status == "failing"),
    "trash": (Filters(status=DataSourceStatus.REMOVED), lambda s, k: s.status == "removed"),
    "provider": (
        Filters(provider="sandbox_api"),
        lambda s, k: _live(s) and s.provider == "sandbox_api",
    ),
    "api keys": (
        Filters(auth_kind=AuthKind.API_KEY),
        lambda s, k: _live(s) and k is AuthKind.API_KEY,
    ),
    "search any case": (
        Filters(q="ALPHA"),
        lambda s, k: (
            _live(s)
            and ("alpha" in s.client_name.lower() or "alpha" in s.external_account_name.lower())
        ),
    ),
    "search underscore literally": (
        Filters(q="a_w"),
        lambda s, k: _live(s) and "a_w" in (s.client_name + "|" + s.external_account_name).lower(),
    ),
    "search percent literally": (
        Filters(q="100%"),
        lambda s, k: _live(s) and "100%" in (s.client_name + "|" + s.external_account_name),
    ),
    "search nothing": (Filters(q="no such words"), lambda s, k: False),
    # The search text and the provider are written into the statement: quotes stay text.
    "search quote literally": (Filters(q="' or ''='"), lambda s, k: False),
    "provider quote literally": (Filters(provider="sandbox' or 'a'='a"), lambda s, k: False),
    # A backslash is text too: it escapes no quote, in either database.
    "search backslash literally": (Filters(q="\\' or 1=1 --"), lambda s, k: False),
    "provider backslash literally": (Filters(provider="x\\' or 'a'='a' --"), lambda s, k: False),
    **{
        f"status {status.value}": (
            Filters(status=status),
            lambda s, k, status=status: s.status is status,  # type: ignore[misc]
        )
        for status in DataSourceStatus
    },
}


@pytest.mark.parametrize("sort", list(Sort))
@pytest.mark.parametrize("case", list(CASES))
async def test_every_filter_and_search_answers_the_rows_a_plain_reading_gives(
    session: AsyncSession, crowd: Demo, case: str, sort: Sort
) -> None:
    filters, keep = CASES[case]
    expected = _expected(await _everything(session), keep, sort)

    pages = await _all_pages(session, crowd.admin, filters=filters, sort=sort, limit=7)

    assert [r.source.id for p in pages for r in p.items] == expected


async def test_the_client_filter_answers_that_clients_rows_only(
    session: AsyncSession, crowd: Demo
) -> None:
    juniper = crowd.client_named("Juniper Florist").id
    expected = _expected(
        await _everything(session), lambda s, k: _live(s) and s.client_id == juniper, Sort.CLIENT
    )

    pages = await _all_pages(
        session, crowd.admin, filters=Filters(client_id=juniper), sort=Sort.CLIENT, limit=50
    )

    assert [r.source.id for p in pages for r in p.items] == expected
    assert expected


@pytest.mark.parametrize("limit", [1, 2, 5, 13, 500])
@pytest.mark.parametrize("sort", list(Sort))
async def test_pages_forward_then_back_hold_every_row_once_in_order(
    session: AsyncSession, crowd: Demo, sort: Sort, limit: int
) -> None:
    expected = _expected(await _everything(session), lambda s, k: _live(s), sort)

    forward = await _all_pages(session, crowd.admin, filters=Filters(), sort=sort, limit=limit)
    backward = [forward[-1]]
    while backward[-1].prev_cursor:
        backward.append(
            await list_rows(
                session,
                user=crowd.admin,
                sort=sort,
                limit=limit,
                cursor=backward[-1].prev_cursor,
            )
        )

    assert [r.source.id for p in forward for r in p.items] == expected
    assert [[r.source.id for r in p.items] for p in reversed(backward)] == [
        [r.source.id for r in p.items] for p in forward
    ]
    assert forward[0].prev_cursor is None
    assert forward[-1].next_cursor is None


async def test_a_previous_page_after_a_next_page_is_the_first_page_again(
    session: AsyncSession, crowd: Demo
) -> None:
    first = await list_rows(session, user=crowd.admin, sort=Sort.CLIENT, limit=10)
    second = await list_rows(
        session, user=crowd.admin, sort=Sort.CLIENT, limit=10, cursor=first.next_cursor
    )

    back = await list_rows(
        session,
        user=crowd.admin,
        sort=Sort.CLIENT,
        limit=10,
        cursor=second.prev_cursor,
    )

    assert [r.source.id for r in back.items] == [r.source.id for r in first.items]
    assert back.prev_cursor is None
    assert back.next_cursor is not None


async def test_the_limited_user_pages_only_through_their_clients(
    session: AsyncSession, crowd: Demo
) -> None:
    pages = await _all_pages(session, crowd.limited, filters=Filters(), sort=Sort.CLIENT, limit=3)

    names = {r.client_name for p in pages for r in p.items}

    assert names == {"Acme Dental", "Juniper Florist"}


@pytest.mark.parametrize("sort", list(Sort))
@pytest.mark.parametrize("case", ["everything", "failing", "trash", "search any case"])
async def test_a_limited_user_sees_each_filter_through_their_own_clients_only(
    session: AsyncSession, crowd: Demo, case: str, sort: Sort
) -> None:
    filters, keep = CASES[case]
    theirs = set(
        await session.scalars(
            select(UserClientAccess.client_id).where(UserClientAccess.user_id == crowd.limited.id)
        )
    )
    expected = _expected(
        await _everything(session), lambda s, k: s.client_id in theirs and keep(s, k), sort
    )

    pages = await _all_pages(session, crowd.limited, filters=filters, sort=sort, limit=2)

    assert [r.source.id for p in pages for r in p.items] == expected


async def test_a_limited_user_with_no_clients_sees_no_rows(
    session: AsyncSession, crowd: Demo
) -> None:
    await session.execute(
        delete(UserClientAccess).where(UserClientAccess.user_id == crowd.limited.id)
    )
    await session.commit()

    page = await list_rows(session, user=crowd.limited, sort=Sort.CLIENT)

    assert page.items == []


async def test_a_renamed_client_sorts_and_searches_by_its_new_name(
    session: AsyncSession, crowd: Demo
) -> None:
    acme = crowd.client_named("Acme Dental").id
    await rename_client(session, user=crowd.admin, client_id=acme, name="Aardvark Dental")
    await session.commit()

    pages = await _all_pages(session, crowd.admin, filters=Filters(), sort=Sort.CLIENT, limit=9)
    found = await list_rows(session, user=crowd.admin, filters=Filters(q="aardvark"), limit=50)

    names = [r.client_name for p in pages for r in p.items]
    assert "Acme Dental" not in names
    assert names == sorted(names)
    assert {r.source.client_id for r in found.items} == {acme}
    assert {r.client_name for r in found.items} == {"Aardvark Dental"}


async def test_the_type_ahead_finds_at_most_twenty_clients_by_part_of_a_name(
    session: AsyncSession, crowd: Demo
) -> None:
    everyone = await find_clients(session, scope=_scope(crowd.admin), text="")
    alphas = await find_clients(session, scope=_scope(crowd.admin), text="alPHa")
    literal = await find_clients(session, scope=_scope(crowd.admin), text="100%")

    assert len(everyone) == 20
    assert [name for _, name in everyone] == sorted(name for _, name in everyone)
    assert alphas and all("alpha" in name.lower() for _, name in alphas)
    assert literal and all(name.startswith("100% Organic") for _, name in literal)


async def test_the_type_ahead_never_offers_a_limited_user_anothers_client(
    session: AsyncSession, crowd: Demo
) -> None:
    offered = await find_clients(session, scope=_scope(crowd.limited), text="")
    searched = await find_clients(session, scope=_scope(crowd.limited), text="alpha")

    assert {name for _, name in offered} == {"Acme Dental", "Juniper Florist"}
    assert searched == []


async def test_status_counts_match_a_recount_after_a_status_change(
    session: AsyncSession, crowd: Demo, database: object
) -> None:
    from relink.clients.summary import SummaryCache

    cache = SummaryCache(0)  # counted on every read
    before = await cache.get(database, user=crowd.admin, reading=session)  # type: ignore[arg-type]
    one = await session.scalar(
        select(DataSource.id).where(DataSource.status == DataSourceStatus.CONNECTED).limit(1)
    )
    await session.execute(
        update(DataSource).where(DataSource.id == one).values(status=DataSourceStatus.PAUSED)
    )
    await session.commit()

    after = await cache.get(database, user=crowd.admin, reading=session)  # type: ignore[arg-type]
    recount = {
        status: len([s for s, _ in await _everything(session) if s.status == status])
        for status in DataSourceStatus
    }

    assert {s: n for s, n in after.counts.items() if n} == {s: n for s, n in recount.items() if n}
    assert after.counts[DataSourceStatus.PAUSED] == before.counts[DataSourceStatus.PAUSED] + 1


async def test_kept_status_counts_are_counted_again_once_forgotten(
    session: AsyncSession, crowd: Demo, database: object
) -> None:
    from relink.clients.summary import SummaryCache

    cache = SummaryCache(3600)
    kept = await cache.get(database, user=crowd.admin, reading=session)  # type: ignore[arg-type]
    await session.execute(
        update(DataSource)
        .where(DataSource.status == DataSourceStatus.CONNECTED)
        .values(status=DataSourceStatus.PAUSED)
    )
    await session.commit()

    still = await cache.get(database, user=crowd.admin, reading=session)  # type: ignore[arg-type]
    cache.forget()
    fresh = await cache.get(database, user=crowd.admin, reading=session)  # type: ignore[arg-type]

    assert still == kept
    assert fresh.counts.get(DataSourceStatus.CONNECTED, 0) == 0


def _scope(user: User) -> object:
    from relink.auth.access import scope_of

    return scope_of(user)
