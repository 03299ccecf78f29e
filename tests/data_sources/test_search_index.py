"""Search by name is served by an index on both databases, and that index follows the rows:
PostgreSQL's trigram indexes by themselves, SQLite's full-text table by triggers."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from relink.data_sources.rows import Filters, list_rows, search_condition
from relink.kit.id_lists import on_postgresql
from relink.models import DataSource
from tests.fixtures.demo import Demo


async def _found(session: AsyncSession, demo: Demo, q: str) -> set[int]:
    page = await list_rows(session, user=demo.admin, filters=Filters(q=q), limit=100)
    return {row.source.id for row in page.items}


async def _named(session: AsyncSession, fragment: str) -> set[int]:
    rows = await session.execute(select(DataSource.id, DataSource.client_name))
    return {i for i, name in rows if fragment.lower() in name.lower()}


async def test_a_search_finds_what_the_names_say_in_any_case(
    session: AsyncSession, demo: Demo
) -> None:
    assert await _found(session, demo, "ACME dent") == await _named(session, "acme dent")
    assert await _found(session, demo, "ACME dent")


async def test_a_deleted_data_source_is_no_longer_found(session: AsyncSession, demo: Demo) -> None:
    before = await _found(session, demo, "Acme")
    gone = min(before)

    await session.execute(delete(DataSource).where(DataSource.id == gone))
    await session.commit()

    assert await _found(session, demo, "Acme") == before - {gone}


@pytest.mark.parametrize(
    "q", ['"Acme', "Acme*", "NEAR(Acme Dental)", "Acme OR Dental", "acme'", "^acme", "a:b"]
)
async def test_full_text_syntax_is_taken_as_plain_text(
    session: AsyncSession, demo: Demo, q: str
) -> None:
    assert await _found(session, demo, q) == await _named(session, q)


async def test_on_sqlite_a_search_reads_the_full_text_index(
    session: AsyncSession, demo: Demo
) -> None:
    if on_postgresql(session):
        pytest.skip("PostgreSQL's trigram indexes: see test_listing_plans.py")
    query = select(DataSource.id).where(search_condition("dental", sqlite=True))
    compiled = query.compile(session.get_bind(), compile_kwargs={"literal_binds": True})

    plan = " ".join(
        str(row[-1]) for row in await session.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))
    )

    # The names matched in the full-text table, then each data source found by its id.
    assert "SCAN data_source_search VIRTUAL TABLE INDEX 0:M" in plan
    assert "SEARCH data_source USING INTEGER PRIMARY KEY" in plan
