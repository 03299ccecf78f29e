"""The domain's figures, read from the database rows at scrape time.

Imports, refreshes, mail and webhooks may run in other processes (``relink worker``), so a
counter kept in this process's memory would never move there. The rows are the one place
every process writes, so the figures are aggregates over them: a handful of GROUP BY queries,
none of them per row, read within a time bound by :mod:`relink.telemetry.collector`. The one
table that grows without end, the import runs, is counted incrementally
(:mod:`relink.telemetry.run_totals`).

Counters here count rows: they only go down when rows are deleted (a purged data source's
runs), which Prometheus' ``rate()`` treats as a counter reset.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, SQLColumnExpression, and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.expression import Executable

from relink.kit.retry import MAX_ATTEMPTS
from relink.models import (
    DataSource,
    Event,
    Grant,
    Incident,
    Notification,
    OutboxEmail,
    WebhookDelivery,
)
from relink.status import IMPORTABLE_STATUSES, GrantStatus
from relink.telemetry.run_totals import RunTotals

Labels = tuple[str, ...]


@dataclass
class DomainFigures:
    """One reading of every domain figure, keyed by its label values."""

    imports: dict[Labels, float] = field(default_factory=dict)  # (outcome,)
    import_days: float = 0.0
    import_failures: dict[Labels, float] = field(default_factory=dict)  # (error_class, provider)
    grants: dict[Labels, float] = field(default_factory=dict)  # (provider, status)
    grants_refresh_failing: dict[Labels, float] = field(default_factory=dict)  # (provider,)
    grant_status_changes: dict[Labels, float] = field(default_factory=dict)  # (from, to)
    data_sources: dict[Labels, float] = field(default_factory=dict)  # (status,)
    incidents_open: dict[Labels, float] = field(
        default_factory=dict
    )  # (kind, error_class, provider)
    incidents_opened: dict[Labels, float] = field(default_factory=dict)  # (kind, error_class)
    notifications: dict[Labels, float] = field(default_factory=dict)  # (kind,)
    emails: dict[Labels, float] = field(default_factory=dict)  # (state,)
    webhook_deliveries: dict[Labels, float] = field(default_factory=dict)  # (status,)
    queue_lag: dict[Labels, float] = field(default_factory=dict)  # (queue,)


def _as_utc(value: datetime) -> datetime:
    # SQLite hands datetimes back without a zone; every stored time is UTC.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


async def _grouped(session: AsyncSession, query: Executable) -> dict[Labels, float]:
    """Rows of (label, ..., count) as a mapping from label values to the count."""
    figures: dict[Labels, float] = {}
    for row in await session.execute(query):
        values = tuple(row)
        key = tuple("" if label is None else str(label) for label in values[:-1])
        figures[key] = figures.get(key, 0.0) + float(values[-1] or 0)
    return figures


def _email_state() -> ColumnElement[str]:
    return case(
        (OutboxEmail.sent_at.is_not(None), "sent"),
        (OutboxEmail.attempts >= MAX_ATTEMPTS, "failed"),
        (OutboxEmail.attempts > 0, "retrying"),
        else_="pending",
    )


async def _oldest_due(
    session: AsyncSession,
    column: SQLColumnExpression[datetime | None],
    conditions: Sequence[ColumnElement[bool]],
    now: datetime,
) -> float:
    oldest = await session.scalar(select(func.min(column)).where(*conditions))
    if oldest is None:
        return 0.0
    return max(0.0, (now - _as_utc(oldest)).total_seconds())


async def queue_lag(session: AsyncSession, *, now: datetime) -> dict[Labels, float]:
    """Seconds since the oldest piece of due, untaken work became due, per queue (0: none)."""
    importable = [status.value for status in IMPORTABLE_STATUSES]
    return {
        ("imports",): await _oldest_due(
            session,
            DataSource.next_sync_at,
            [DataSource.status.in_(importable), DataSource.next_sync_at <= now],
            now,
        ),
        ("refreshes",): await _oldest_due(
            session,
            Grant.next_refresh_at,
            [Grant.status == GrantStatus.ACTIVE, Grant.next_refresh_at <= now],
            now,
        ),
        ("emails",): await _oldest_due(
            session,
            func.coalesce(OutboxEmail.next_attempt_at, OutboxEmail.created_at),
            [
                OutboxEmail.sent_at.is_(None),
                OutboxEmail.attempts < MAX_ATTEMPTS,
                or_(OutboxEmail.next_attempt_at.is_(None), OutboxEmail.next_attempt_at <= now),
            ],
            now,
        ),
        ("webhooks",): await _oldest_due(
            session,
            WebhookDelivery.next_attempt_at,
            [WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now],
            now,
        ),
    }


async def read_domain_figures(
    session: AsyncSession, *, now: datetime, runs: RunTotals
) -> DomainFigures:
    """Every figure, in one read-only session; import runs through ``runs``' kept totals."""
    figures = DomainFigures()
    run_counts = await runs.read(session)
    figures.imports = run_counts.imports
    figures.import_days = run_counts.days
    figures.import_failures = run_counts.failures
    figures.grants = await _grouped(
        session,
        select(Grant.provider, Grant.status, func.count()).group_by(Grant.provider, Grant.status),
    )
    figures.grants_refresh_failing = await _grouped(
        session,
        select(Grant.provider, func.count())
        .where(Grant.status == GrantStatus.ACTIVE, Grant.refresh_failures > 0)
        .group_by(Grant.provider),
    )
    figures.grant_status_changes = await _grouped(
        session,
        select(Event.from_status, Event.to_status, func.count())
        .where(and_(Event.subject_type == "grant", Event.action == "status_changed"))
        .group_by(Event.from_status, Event.to_status),
    )
    figures.data_sources = await _grouped(
        session, select(DataSource.status, func.count()).group_by(DataSource.status)
    )
    figures.incidents_open = await _grouped(
        session,
        select(Incident.kind, Incident.error_class, Incident.provider, func.count())
        .where(Incident.resolved_at.is_(None))
        .group_by(Incident.kind, Incident.error_class, Incident.provider),
    )
    figures.incidents_opened = await _grouped(
        session,
        select(Incident.kind, Incident.error_class, func.count()).group_by(
            Incident.kind, Incident.error_class
        ),
    )
    figures.notifications = await _grouped(
        session, select(Notification.kind, func.count()).group_by(Notification.kind)
    )
    state = _email_state()
    figures.emails = await _grouped(
        session,
        select(state, func.count()).group_by(state),
    )
    figures.webhook_deliveries = await _grouped(
        session,
        select(WebhookDelivery.status, func.count()).group_by(WebhookDelivery.status),
    )
    figures.queue_lag = await queue_lag(session, now=now)
    return figures
