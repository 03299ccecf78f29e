"""On PostgreSQL each listing of the Data Sources page is planned once per connection, not at
every run: every value that shapes its plan (status, provider, auth kind, the search text, the
page size) is written into its text, so a plan made once for any agency and cursor is as good
as one made for the values at hand, and PostgreSQL keeps it. The plan it keeps reads an index,
never the whole agency."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from relink.data_sources.rows import STATUS_RANK, Filters, Sort, list_rows
from relink.db import Database
from relink.kit.pagination import decode_keyset
from relink.providers.taxonomy import AuthKind
from relink.status import DataSourceStatus
from tests.fixtures.demo import Demo

# psycopg prepares a statement at its sixth run, and PostgreSQL plans a prepared statement for
# its values at its first five runs before it weighs one plan for all.
RUNS = 14
LISTINGS = (
    (Filters(), Sort.STATUS, 50),
    (Filters(), Sort.CLIENT, 50),
    (Filters(status=DataSourceStatus.FAILING), Sort.CLIENT, 20),
    (Filters(q="acme"), Sort.STATUS, 50),
    (Filters(auth_kind=AuthKind.API_KEY), Sort.CLIENT, 50),
    (Filters(auth_kind=AuthKind.OAUTH2), Sort.STATUS, 50),
)

# Copies of each demo data source: an agency large enough that a plan reading a tenth of it
# costs more than one reading a page (the demo alone is read whole by any plan).
COPIES = 300


@pytest.fixture
async def agency_at_scale(postgres: Database) -> AsyncIterator[Database]:
    """The demo agency grown to thousands of data sources, set-based, its statistics fresh."""
    async with postgres.transaction() as session:
        await session.execute(
            text(
                """
                INSERT INTO data_source (agency_id, client_id, grant_id, provider, auth_kind,
                    external_account_id, external_account_name, client_name, status,
                    consecutive_failures, created_at, updated_at)
                SELECT agency_id, client_id, grant_id, provider, auth_kind,
                    external_account_id || '-' || copy, external_account_name, client_name,
                    status, consecutive_failures, created_at, updated_at
                FROM data_source CROSS JOIN generate_series(1, :copies) AS copy
                """
            ),
            {"copies": COPIES},
        )
    async with postgres.engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.execute(text("VACUUM ANALYZE data_source"))
    yield postgres


async def _prepared_listings(session: AsyncSession) -> list[Any]:
    """The listings this session's connection has prepared: name, text and plans made."""
    found = await session.execute(
        text(
            "SELECT name, statement, generic_plans, custom_plans FROM pg_prepared_statements"
            ' WHERE statement LIKE \'%JOIN "grant" ON "grant".id = %\''
        )
    )
    return list(found.all())


async def test_each_listing_is_planned_once_per_connection(
    agency_at_scale: Database, demo: Demo
) -> None:
    async with agency_at_scale.reading() as session:
        for _ in range(RUNS):
            for filters, sort, limit in LISTINGS:
                page = await list_rows(
                    session, user=demo.admin, filters=filters, sort=sort, limit=limit
                )
                # From a cursor: the key it starts after stays a parameter. (A search's later
                # pages are left out: there PostgreSQL finds a plan for the key at hand worth
                # its planning, and keeps planning them.)
                if page.next_cursor and not filters.q:
                    await list_rows(
                        session,
                        user=demo.admin,
                        filters=filters,
                        sort=sort,
                        limit=limit,
                        cursor=page.next_cursor,
                    )
        prepared = await _prepared_listings(session)

    assert len(prepared) >= len(LISTINGS)
    for _name, statement, generic_plans, custom_plans in prepared:
        assert generic_plans > 0 and custom_plans <= 5, statement


async def test_each_listing_reads_an_index_not_the_agency(
    agency_at_scale: Database, demo: Demo
) -> None:
    """The plan each listing keeps: its rows found through an index, in the listing's order;
    a search reads the first rows of the order through its index, and a rare name, which
    does not fill a page from them, its matches through the trigram indexes of the names."""
    async with agency_at_scale.transaction() as session:
        await session.execute(
            text(
                "UPDATE data_source SET external_account_name = 'Zyxwvut Studio'"
                " WHERE id = (SELECT min(id) FROM data_source)"
            )
        )
    rare = (Filters(q="zyxwvut"), Sort.STATUS, 50)
    async with agency_at_scale.reading() as session:
        for _ in range(RUNS):
            for filters, sort, limit in (*LISTINGS, rare):
                await list_rows(session, user=demo.admin, filters=filters, sort=sort, limit=limit)
        plans = {}
        for name, statement, _generic, _custom in await _prepared_listings(session):
            # A utility statement takes no parameters: the agency's id is written in.
            explained = await session.execute(
                text(f"EXPLAIN EXECUTE {name}({int(demo.agency.id)})")
            )
            plans[statement] = "\n".join(line for (line,) in explained)

    # each listing, and the rare search's two: the first rows of its order, then its matches
    assert len(plans) >= len(LISTINGS) + 2
    for statement, plan in plans.items():
        assert "Seq Scan on data_source" not in plan, plan
        if "zyxwvut" in statement and "OFFSET 0" in statement:
            assert "ix_data_source_client_name_trgm" in plan, plan
            assert "ix_data_source_external_account_name_trgm" in plan, plan
        elif "LIKE" not in statement:
            assert "Index Scan using ix_data_source_agency" in plan and "Sort" not in plan, plan
        elif "OFFSET 0" not in statement:
            # a search's first rows of the order: read from the order's index
            assert "Index Scan using ix_data_source_agency" in plan, plan


CONNECTED = STATUS_RANK[DataSourceStatus.CONNECTED]
# Clients the limited user does not see, and rounds of data sources: in each, one of each of
# those clients and a copy of each of the user's, so that their rows are a small share of the
# agency's, spread along its order, as a staff user given a few clients of a large agency has.
OTHER_CLIENTS = 2000
ROUNDS = 10
# Pages short enough that the user's rows fill several among the connected.
PAGE = 5


async def _rows_read(session: AsyncSession) -> int:
    """Rows of data_source this transaction has read so far, by any scan."""
    read = await session.scalar(
        text(
            "SELECT coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0)"
            " FROM pg_stat_xact_user_tables WHERE relname = 'data_source'"
        )
    )
    return int(read or 0)


async def test_a_limited_users_later_page_reads_their_rows_not_the_agencys(
    postgres: Database, demo: Demo
) -> None:
    # given: a large agency (many clients) where the limited user's clients hold one row in
    # several hundred, spread along the agency's order
    async with postgres.transaction() as session:
        originals = await session.scalar(text("SELECT max(id) FROM data_source"))
        await session.execute(
            text(
                "INSERT INTO client (agency_id, name, created_at, updated_at)"
                " SELECT :agency, 'Scale Client ' || lpad(n::text, 5, '0'), now(), now()"
                " FROM generate_series(1, :clients) AS n"
            ),
            {"agency": demo.agency.id, "clients": OTHER_CLIENTS},
        )
        for copy in range(ROUNDS):
            # one data source of each other client, then a copy of each of the user's
            await session.execute(
                text(
                    """
                    INSERT INTO data_source (agency_id, client_id, grant_id, provider,
                        auth_kind, external_account_id, external_account_name, client_name,
                        status, consecutive_failures, created_at, updated_at)
                    SELECT t.agency_id, c.id, t.grant_id, t.provider, t.auth_kind,
                        'scale-' || c.id || '-' || :copy, t.external_account_name, c.name,
                        'connected', 0, now(), now()
                    FROM client AS c,
                        (SELECT * FROM data_source ORDER BY id LIMIT 1) AS t
                    WHERE c.name LIKE 'Scale Client %'
                    ORDER BY c.id
                    """
                ),
                {"copy": copy},
            )
            await session.execute(
                text(
                    """
                    INSERT INTO data_source (agency_id, client_id, grant_id, provider,
                        auth_kind, external_account_id, external_account_name, client_name,
                        status, consecutive_failures, created_at, updated_at)
                    SELECT agency_id, client_id, grant_id, provider, auth_kind,
                        external_account_id || '-' || :copy, external_account_name,
                        client_name, 'connected', 0, now(), now()
                    FROM data_source
                    WHERE client_id IN (SELECT client_id FROM user_client_access
                                        WHERE user_id = :user)
                      AND id <= :originals
                    ORDER BY id
                    """
                ),
                {"copy": copy, "user": demo.limited.id, "originals": originals},
            )
        theirs = await session.scalar(
            text(
                "SELECT count(*) FROM data_source WHERE status <> 'removed' AND client_id IN"
                " (SELECT client_id FROM user_client_access WHERE user_id = :user)"
            ),
            {"user": demo.limited.id},
        )
    async with postgres.engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.execute(text("VACUUM ANALYZE data_source"))

    async with postgres.transaction() as session:
        # a next cursor among the connected rows, where most rows are
        page = await list_rows(session, user=demo.limited, sort=Sort.STATUS, limit=PAGE)
        while page.next_cursor and decode_keyset(page.next_cursor, length=2)[1][0] < CONNECTED:
            page = await list_rows(
                session, user=demo.limited, sort=Sort.STATUS, limit=PAGE, cursor=page.next_cursor
            )
        assert page.next_cursor is not None
        before = await _rows_read(session)

        # when: the next page, planned for that cursor (its first run)
        following = await list_rows(
            session, user=demo.limited, sort=Sort.STATUS, limit=PAGE, cursor=page.next_cursor
        )
        read = await _rows_read(session) - before

    # then: it read the user's own rows at most, not the agency's order after the cursor
    assert following.items
    assert read <= int(theirs or 0), f"read {read} rows for a user with {theirs}"


# Copies of each demo data source for the search tests: an agency where a text matching one
# row in fifty is worth finding through the trigram indexes rather than the page's order.
SEARCH_COPIES = 2000
# The share of the agency a rare text matches: the last rows of the client order.
RARE_SHARE = 50


async def test_a_rare_search_reads_its_matches_not_the_agencys_order(
    postgres: Database, demo: Demo
) -> None:
    # given: a large agency, where a text matches 1 row in 50, all of them late in the order
    async with postgres.transaction() as session:
        await session.execute(
            text(
                """
                INSERT INTO data_source (agency_id, client_id, grant_id, provider, auth_kind,
                    external_account_id, external_account_name, client_name, status,
                    consecutive_failures, created_at, updated_at)
                SELECT agency_id, client_id, grant_id, provider, auth_kind,
                    external_account_id || '-' || copy, external_account_name || ' ' || copy,
                    client_name, 'connected', consecutive_failures, created_at, updated_at
                FROM data_source CROSS JOIN generate_series(1, :copies) AS copy
                """
            ),
            {"copies": SEARCH_COPIES},
        )
        rows = int(await session.scalar(text("SELECT count(*) FROM data_source")) or 0)
        await session.execute(
            text(
                "UPDATE data_source SET external_account_name = 'Qzrare ' || id WHERE id IN"
                " (SELECT id FROM data_source ORDER BY client_name DESC, id DESC LIMIT :n)"
            ),
            {"n": rows // RARE_SHARE},
        )
    async with postgres.engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.execute(text("VACUUM ANALYZE data_source"))

    for sort in Sort:
        async with postgres.transaction() as session:
            before = await _rows_read(session)

            # when: the first page of the search, in each order
            page = await list_rows(session, user=demo.admin, filters=Filters(q="qzrare"), sort=sort)
            read = await _rows_read(session) - before

        # then: a page of matches, read from the order's first rows and the matches, not
        # from the order up to where the matches are
        assert len(page.items) == 50
        assert read < rows // 4, f"read {read} of {rows} rows, sorted by {sort}"


async def test_a_common_search_fills_its_page_from_the_first_rows_of_the_order(
    postgres: Database, demo: Demo
) -> None:
    # given: a large agency, where a text matches every row
    async with postgres.transaction() as session:
        await session.execute(
            text(
                """
                INSERT INTO data_source (agency_id, client_id, grant_id, provider, auth_kind,
                    external_account_id, external_account_name, client_name, status,
                    consecutive_failures, created_at, updated_at)
                SELECT agency_id, client_id, grant_id, provider, auth_kind,
                    external_account_id || '-' || copy, 'Common ' || external_account_name,
                    client_name, 'connected', consecutive_failures, created_at, updated_at
                FROM data_source CROSS JOIN generate_series(1, :copies) AS copy
                """
            ),
            {"copies": SEARCH_COPIES},
        )
    async with postgres.engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.execute(text("VACUUM ANALYZE data_source"))

    async with postgres.transaction() as session:
        before = await _rows_read(session)

        # when: the first page of a search for it
        page = await list_rows(session, user=demo.admin, filters=Filters(q="common"))
        read = await _rows_read(session) - before

    # then: its rows came from the order's first rows, not from every match
    assert len(page.items) == 50
    assert read <= 50 * 20, f"read {read} rows"
