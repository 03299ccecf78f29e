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

from relink.data_sources.rows import Filters, Sort, list_rows
from relink.db import Database
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
            " WHERE statement LIKE '%FROM data_source JOIN%'"
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
    a search for a rare name through the trigram indexes of the names (a common one, which
    fills a page at once, may read the order's index and test each row)."""
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

    assert len(plans) == len(LISTINGS) + 1
    for statement, plan in plans.items():
        assert "Seq Scan on data_source" not in plan, plan
        if "zyxwvut" in statement:
            assert "ix_data_source_client_name_trgm" in plan, plan
            assert "ix_data_source_external_account_name_trgm" in plan, plan
        elif "LIKE" not in statement:
            assert "Index Scan using ix_data_source_agency" in plan and "Sort" not in plan, plan
