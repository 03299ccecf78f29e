"""Import-run totals read in steps add up to a plain count, and count each run once."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relink.db import Database
from relink.models import SyncOutcome, SyncRun, SyncTrigger
from relink.telemetry import run_totals
from relink.telemetry.run_totals import RunCounts, RunTotals
from relink.worker.context import JobContext
from relink.worker.sweep import sweep
from tests.fixtures.demo import Demo, data_sources_of
from tests.fixtures.sandbox import SandboxServer


@pytest.fixture(autouse=True)
def _small_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    """Steps of three ids and a short unsettled tail, so a few runs cross every boundary."""
    monkeypatch.setattr(run_totals, "CATCH_UP_IDS", 3)
    monkeypatch.setattr(run_totals, "UNSETTLED_TAIL_IDS", 2)


async def _read(database: Database, totals: RunTotals) -> RunCounts:
    async with database.sessions() as session:
        return await totals.read(session)


async def _plain_count(database: Database) -> dict[tuple[str, ...], float]:
    async with database.sessions() as session:
        rows = await session.execute(
            select(SyncRun.outcome, func.count()).group_by(SyncRun.outcome)
        )
        return {(str(outcome),): float(n) for outcome, n in rows}


async def test_totals_caught_up_in_steps_equal_a_plain_count(
    database: Database, demo: Demo, ctx: JobContext, sandbox: SandboxServer
) -> None:
    sandbox.add_fault("server_error")
    await sweep(ctx)
    totals = RunTotals()

    readings = [await _read(database, totals) for _ in range(12)]

    assert readings[-1].imports == await _plain_count(database)
    assert readings[-1].imports[("failed",)] > 0
    assert sum(readings[-1].failures.values()) == readings[-1].imports[("failed",)]
    # Counters only grow, also while catching up.
    failed = [r.imports.get(("failed",), 0.0) for r in readings]
    assert failed == sorted(failed)


async def test_a_run_still_running_is_counted_once_when_it_ends(
    session: AsyncSession, database: Database, demo: Demo
) -> None:
    source = (await data_sources_of(session, demo.shared_grant_id))[0]
    runs = [
        SyncRun(
            agency_id=source.agency_id,
            data_source_id=source.id,
            trigger=SyncTrigger.SCHEDULE,
            date_from=date(2024, 5, 1),
            date_to=date(2024, 5, 1),
            outcome=SyncOutcome.OK if n != 2 else SyncOutcome.RUNNING,
        )
        for n in range(8)
    ]
    session.add_all(runs)
    await session.commit()
    totals = RunTotals()
    for _ in range(5):
        during = await _read(database, totals)

    await session.execute(
        update(SyncRun).where(SyncRun.id == runs[2].id).values(outcome=SyncOutcome.OK)
    )
    await session.commit()
    after = [await _read(database, totals) for _ in range(5)]

    assert during.imports == {("ok",): 7.0, ("running",): 1.0}
    assert [a.imports for a in after] == [{("ok",): 8.0}] * 5
