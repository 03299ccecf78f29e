"""A hot read run by psycopg itself answers what SQLAlchemy's execution would, keeps written-in
values as values, and leaves no dead connection in the pool."""

from __future__ import annotations

import pytest
from sqlalchemy import bindparam, func, literal, or_, select, text
from sqlalchemy.exc import OperationalError

from relink.db import Database
from relink.kit.driver_reads import driver_rows
from relink.models import DataSource
from relink.status import DataSourceStatus
from tests.fixtures.demo import Demo


def _listing() -> object:
    """A statement of the listing's kind: enums in and out, a written-in status and text."""
    status = bindparam("status", literal_execute=True, type_=DataSource.status.type)
    pattern = bindparam("pattern", literal_execute=True)
    return (
        select(DataSource.id, DataSource.client_name, DataSource.status, DataSource.status_reason)
        .where(
            DataSource.agency_id == bindparam("agency_id"),
            DataSource.status != status,
            or_(DataSource.client_name.ilike(pattern), literal(True) == literal(True)),
        )
        .order_by(DataSource.id)
    )


async def test_the_driver_answers_what_sqlalchemy_answers(postgres: Database, demo: Demo) -> None:
    statement = _listing()
    values = {"agency_id": demo.agency.id, "status": DataSourceStatus.REMOVED, "pattern": "%"}
    async with postgres.reading() as session:
        expected = [list(r) for r in (await session.execute(statement, values)).all()]
        answered = await driver_rows(session, statement, values)

    assert answered == expected and len(answered) > 3
    assert all(isinstance(row[2], DataSourceStatus) for row in answered)


async def test_a_written_in_value_with_quotes_stays_a_value(postgres: Database, demo: Demo) -> None:
    statement = (
        select(DataSource.id)
        .where(DataSource.client_name == bindparam("pattern", literal_execute=True))
        .order_by(DataSource.id)
    )
    values = {"pattern": "50% Acme' OR '1'='1"}
    async with postgres.reading() as session:
        answered = await driver_rows(session, statement, values)

    assert answered == []


async def test_a_connection_that_died_is_replaced_not_handed_out_again(postgres: Database) -> None:
    pid = select(func.pg_backend_pid())
    async with postgres.reading() as session:
        ((dead,),) = await driver_rows(session, pid, {})
    async with postgres.transaction() as watcher:
        await watcher.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": dead})

    with pytest.raises(OperationalError):
        async with postgres.reading() as session:
            await driver_rows(session, pid, {})
    async with postgres.reading() as session:
        ((alive,),) = await driver_rows(session, pid, {})

    assert alive != dead


async def test_a_reading_session_hands_its_connection_back(postgres: Database) -> None:
    async with postgres.reading() as session:
        await driver_rows(session, select(func.pg_backend_pid()), {})
        await session.scalar(select(func.count(DataSource.id)))

    assert postgres.read_engine.sync_engine.pool.checkedout() == 0
