"""The status model of DESIGN.md: every legal move allowed, every other one refused."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.data_sources.service import transition
from relink.errors import IllegalTransition
from relink.models import DataSource, Event
from relink.providers.taxonomy import ErrorClass
from relink.status import (
    DATA_SOURCE_TRANSITIONS,
    GRANT_TRANSITIONS,
    DataSourceStatus,
    GrantStatus,
    check_data_source_transition,
    check_grant_transition,
)
from tests.fixtures.demo import Demo

LEGAL_DATA_SOURCE_MOVES = {
    ("connected", "failing"),
    ("connected", "disconnected"),
    ("connected", "paused"),
    ("connected", "removed"),
    ("failing", "connected"),
    ("failing", "disconnected"),
    ("failing", "paused"),
    ("failing", "removed"),
    ("disconnected", "connected"),
    ("disconnected", "paused"),
    ("disconnected", "removed"),
    ("paused", "connected"),
    ("paused", "disconnected"),
    ("paused", "removed"),
    ("removed", "connected"),
    ("removed", "disconnected"),
}


@pytest.mark.parametrize(
    ("current", "target"), list(itertools.product(DataSourceStatus, DataSourceStatus))
)
def test_data_source_moves_follow_the_design(
    current: DataSourceStatus, target: DataSourceStatus
) -> None:
    if (current.value, target.value) in LEGAL_DATA_SOURCE_MOVES:
        check_data_source_transition(current, target)
    else:
        with pytest.raises(IllegalTransition):
            check_data_source_transition(current, target)


def test_the_table_and_the_design_list_agree() -> None:
    table = {(a.value, b.value) for a, targets in DATA_SOURCE_TRANSITIONS.items() for b in targets}
    assert table == LEGAL_DATA_SOURCE_MOVES


def test_failing_is_not_a_disconnect_and_recovers_directly() -> None:
    check_data_source_transition(DataSourceStatus.FAILING, DataSourceStatus.CONNECTED)


@pytest.mark.parametrize(("current", "target"), list(itertools.product(GrantStatus, GrantStatus)))
def test_grant_moves_follow_the_table(current: GrantStatus, target: GrantStatus) -> None:
    if target in GRANT_TRANSITIONS[current]:
        check_grant_transition(current, target)
    else:
        with pytest.raises(IllegalTransition):
            check_grant_transition(current, target)


async def test_a_transition_writes_an_event_with_from_to_and_reason(
    session: AsyncSession, demo: Demo
) -> None:
    source = await session.scalar(select(DataSource).limit(1))
    assert source is not None

    await transition(
        session,
        source=source,
        to=DataSourceStatus.DISCONNECTED,
        actor="system:sweep",
        reason=ErrorClass.AUTH_REVOKED,
        detail="the login revoked access",
    )
    await session.commit()

    event = await session.scalar(select(Event).where(Event.subject_id == source.id))
    assert event is not None
    assert (event.from_status, event.to_status) == ("connected", "disconnected")
    assert event.actor == "system:sweep"
    assert event.reason == "the login revoked access"


async def test_an_illegal_transition_changes_nothing(session: AsyncSession, demo: Demo) -> None:
    source = await session.scalar(select(DataSource).limit(1))
    assert source is not None
    await transition(session, source=source, to=DataSourceStatus.PAUSED, actor="user:1")

    with pytest.raises(IllegalTransition):
        await transition(session, source=source, to=DataSourceStatus.FAILING, actor="system:sweep")

    assert source.status is DataSourceStatus.PAUSED
