"""Import-run totals kept incrementally, so a scrape never counts the whole run table.

Runs are only ever added, and a run's outcome is final once it is no longer ``running``. So
every run below the oldest still-running one is final: its counts are added once, by id range
(a primary-key range scan), and kept; only the runs from the oldest running one on (and the
newest :data:`UNSETTLED_TAIL_IDS`) are counted again at each reading. A process that starts
over a large table catches up by :data:`CATCH_UP_IDS` ids per reading instead of one long
count.

Counts only grow: a purged data source's runs stay counted, as a Prometheus counter should.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.models import DataSource, SyncRun
from relink.models.sync_run import SyncOutcome

Labels = tuple[str, ...]
# Ids counted per reading while catching up: about a quarter second of PostgreSQL's time.
CATCH_UP_IDS = 200_000
# The newest runs are never taken as settled: on PostgreSQL a transaction may commit a run
# with a lower id after later ids are visible. This many are always counted live.
UNSETTLED_TAIL_IDS = 1_000


@dataclass
class RunCounts:
    """Runs by outcome, days imported, failed runs by (error class, provider)."""

    imports: dict[Labels, float] = field(default_factory=dict)
    days: float = 0.0
    failures: dict[Labels, float] = field(default_factory=dict)

    def plus(self, other: RunCounts) -> RunCounts:
        return RunCounts(
            imports=_added(self.imports, other.imports),
            days=self.days + other.days,
            failures=_added(self.failures, other.failures),
        )


def _added(a: dict[Labels, float], b: dict[Labels, float]) -> dict[Labels, float]:
    summed = dict(a)
    for key, value in b.items():
        summed[key] = summed.get(key, 0.0) + value
    return summed


def _label(value: object) -> str:
    return "" if value is None else str(value)


async def count_runs(session: AsyncSession, *, above: int, up_to: int | None) -> RunCounts:
    """Counts of the runs with ``above < id <= up_to`` (no upper bound when ``up_to`` is None)."""
    in_range = [SyncRun.id > above] + ([SyncRun.id <= up_to] if up_to is not None else [])
    counts = RunCounts()
    by_outcome = select(
        SyncRun.outcome, func.count(), func.coalesce(func.sum(SyncRun.days_imported), 0)
    )
    for outcome, runs, days in await session.execute(
        by_outcome.where(*in_range).group_by(SyncRun.outcome)
    ):
        counts.imports[(_label(outcome),)] = float(runs)
        counts.days += float(days)
    failures = (
        select(SyncRun.error_class, DataSource.provider, func.count())
        .join(DataSource, DataSource.id == SyncRun.data_source_id)
        .where(SyncRun.outcome == SyncOutcome.FAILED, *in_range)
        .group_by(SyncRun.error_class, DataSource.provider)
    )
    for error_class, provider, runs in await session.execute(failures):
        counts.failures[(_label(error_class), _label(provider))] = float(runs)
    return counts


@dataclass
class RunTotals:
    """The final runs counted so far (every id up to ``final_through``)."""

    final_through: int = 0
    final: RunCounts = field(default_factory=RunCounts)
    caught_up: bool = False

    async def read(self, session: AsyncSession) -> RunCounts:
        """Totals now; the kept part advances only when its counting has succeeded."""
        last_id = await session.scalar(select(func.max(SyncRun.id))) or 0
        oldest_running = await session.scalar(
            select(func.min(SyncRun.id)).where(SyncRun.outcome == SyncOutcome.RUNNING)
        )
        settled = last_id - UNSETTLED_TAIL_IDS
        if oldest_running is not None:
            settled = min(settled, oldest_running - 1)
        settled = max(settled, self.final_through)
        final, through = self.final, self.final_through
        # Once caught up, every later run was counted live by the readings since, so settling
        # them all at once costs no more than those readings did; and it must be all at once,
        # or the tail left out would make the counters go down.
        target = settled if self.caught_up else min(settled, through + CATCH_UP_IDS)
        if target > through:
            final = final.plus(await count_runs(session, above=through, up_to=target))
            through = target
        # Caught up: the unsettled tail is counted live. Still catching up: kept totals only.
        live = await count_runs(session, above=through, up_to=None) if through == settled else None
        self.final, self.final_through = final, through
        self.caught_up = self.caught_up or live is not None
        return final.plus(live) if live is not None else final
