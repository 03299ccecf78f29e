"""The one writer of a status: ``transition_many`` checks each move, moves sets, logs one shape."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.errors import IllegalTransition
from relink.models import DataSource, Event, Grant
from relink.providers.taxonomy import ErrorClass
from relink.status import DataSourceStatus, GrantStatus
from relink.status_writer import transition_many
from tests.fixtures.demo import Demo, data_sources_of

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
SRC = Path(__file__).resolve().parents[2] / "src" / "relink"
WRITER = SRC / "status_writer.py"
# Any way of setting the status of a data source or a grant outside the writer: an attribute
# assignment, a keyword in an UPDATE's values() or a constructor, or a key of a bulk row.
STATUS_WRITES = [
    re.compile(r"\.status\s*=(?!=)"),
    re.compile(r"\bstatus\s*=\s*(DataSourceStatus|GrantStatus|_DS|_GS)\."),
    re.compile(r"""["']status["']\s*:\s*(DataSourceStatus|GrantStatus|_DS|_GS)\."""),
    re.compile(r"\.values\([^)]*\bstatus\s*="),
]


async def _events(session: AsyncSession) -> list[Event]:
    return list(await session.scalars(select(Event).order_by(Event.id)))


def test_nothing_but_the_writer_sets_a_status() -> None:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        if path == WRITER or "sandbox" in path.relative_to(SRC).parts:
            continue
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if any(pattern.search(line) for pattern in STATUS_WRITES):
                found.append(f"{path.relative_to(SRC)}:{number}: {line.strip()}")
    assert found == [], "status set outside status_writer.transition_many:\n" + "\n".join(found)


async def test_moving_many_data_sources_writes_one_event_each_in_one_shape(
    session: AsyncSession, demo: Demo
) -> None:
    sources = await data_sources_of(session, demo.shared_grant_id)
    ids = [s.id for s in sources]

    moved = await transition_many(
        session,
        ids,
        to=DataSourceStatus.DISCONNECTED,
        error_class=ErrorClass.AUTH_REVOKED,
        detail="the login revoked access",
        actor="system:test",
        now=NOW,
    )
    await session.commit()

    assert moved == sorted(ids)
    events = await _events(session)
    assert sorted(e.subject_id for e in events) == sorted(ids)
    for event in events:
        assert event.subject_type == "data_source"
        assert event.action == "status_changed"
        assert (event.from_status, event.to_status) == ("connected", "disconnected")
        assert event.reason == "the login revoked access"
        assert event.details == {"error_class": "auth_revoked"}
        assert event.actor == "system:test"
    # Loaded objects see the move without a refresh.
    assert {s.status for s in sources} == {DataSourceStatus.DISCONNECTED}
    assert {s.status_reason for s in sources} == {ErrorClass.AUTH_REVOKED}


async def test_an_illegal_move_raises_and_moves_nothing(session: AsyncSession, demo: Demo) -> None:
    first, second = (await data_sources_of(session, demo.shared_grant_id))[:2]
    ids = [first.id, second.id]
    await transition_many(session, [first.id], to=DataSourceStatus.PAUSED, actor="user:1", now=NOW)

    with pytest.raises(IllegalTransition):
        # paused → failing is not a move of DESIGN.md; connected → failing is.
        await transition_many(
            session,
            ids,
            to=DataSourceStatus.FAILING,
            actor="system:test",
            now=NOW,
        )

    await session.commit()
    rows = await session.execute(
        select(DataSource.id, DataSource.status).where(DataSource.id.in_(ids))
    )
    statuses = {row.id: row.status for row in rows}
    assert statuses == {ids[0]: DataSourceStatus.PAUSED, ids[1]: DataSourceStatus.CONNECTED}
    assert [e.to_status for e in await _events(session)] == ["paused"]


async def test_only_from_leaves_rows_in_other_states_alone(
    session: AsyncSession, demo: Demo
) -> None:
    first, second = (await data_sources_of(session, demo.shared_grant_id))[:2]
    await transition_many(session, [first.id], to=DataSourceStatus.PAUSED, actor="user:1", now=NOW)

    moved = await transition_many(
        session,
        [first.id, second.id],
        to=DataSourceStatus.FAILING,
        only_from={DataSourceStatus.CONNECTED},
        error_class=ErrorClass.PROVIDER_UNAVAILABLE,
        actor="system:test",
        now=NOW,
    )

    assert moved == [second.id]
    assert first.status is DataSourceStatus.PAUSED
    assert second.status is DataSourceStatus.FAILING


async def test_only_from_naming_an_illegal_move_is_refused(
    session: AsyncSession, demo: Demo
) -> None:
    with pytest.raises(IllegalTransition):
        await transition_many(
            session,
            [demo.shared_grant_id],
            to=GrantStatus.REVOKED,
            only_from={GrantStatus.REVOKED},
            actor="system:test",
            now=NOW,
        )


async def test_no_ids_moves_nothing_and_writes_nothing(session: AsyncSession, demo: Demo) -> None:
    moved = await transition_many(
        session, [], to=DataSourceStatus.DISCONNECTED, actor="system:test", now=NOW
    )

    assert moved == []
    assert await session.scalar(select(func.count()).select_from(Event)) == 0


async def test_a_grant_moves_through_the_same_writer(session: AsyncSession, demo: Demo) -> None:
    moved = await transition_many(
        session,
        [demo.shared_grant_id],
        to=GrantStatus.DISCONNECTED,
        error_class=ErrorClass.AUTH_REVOKED,
        detail="the login revoked access",
        actor="system:test",
        now=NOW,
    )
    await session.commit()

    assert moved == [demo.shared_grant_id]
    grant = await session.get(Grant, demo.shared_grant_id)
    assert grant is not None and grant.status is GrantStatus.DISCONNECTED
    (event,) = await _events(session)
    assert (event.subject_type, event.from_status, event.to_status) == (
        "grant",
        "active",
        "disconnected",
    )
    assert event.details == {"error_class": "auth_revoked"}


async def test_many_rows_move_in_chunks_with_one_event_each(
    session: AsyncSession, demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A chunk smaller than the demo's data sources: the chunked path moves every one.
    monkeypatch.setattr("relink.status_writer.CHUNK", 2)
    ids = list(await session.scalars(select(DataSource.id)))
    assert len(ids) > 2

    moved = await transition_many(
        session, ids, to=DataSourceStatus.PAUSED, actor="system:test", now=NOW
    )
    await session.commit()

    assert moved == sorted(ids)
    assert len(await _events(session)) == len(ids)
    left = await session.scalar(
        select(func.count()).where(DataSource.status != DataSourceStatus.PAUSED)
    )
    assert left == 0
