"""Prometheus collector of the domain figures: read from the rows, bounded, briefly cached.

prometheus-client calls ``collect()`` synchronously, so the endpoint refreshes the reading
(asynchronously, at most every :data:`CACHE_SECONDS`) before rendering, and ``collect()``
only turns the latest reading into metric families. A reading that fails or outlasts
:data:`READ_TIMEOUT_SECONDS` keeps the previous one and counts an error, so a slow database
slows no scrape beyond the bound.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import structlog
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from sqlalchemy import text

from relink.db import Database
from relink.models.base import utcnow
from relink.telemetry.domain_figures import DomainFigures, Labels, read_domain_figures
from relink.telemetry.run_totals import RunTotals

log = structlog.get_logger(__name__)

# Scrapes from several Prometheus servers (or a fast interval) share one reading.
CACHE_SECONDS = 5.0
# A scrape must answer even when the database is slow; PostgreSQL also stops the statements.
READ_TIMEOUT_SECONDS = 2.0


def _family(family: CounterMetricFamily | GaugeMetricFamily, values: dict[Labels, float]) -> Metric:
    for labels, value in sorted(values.items()):
        family.add_metric(list(labels), value)
    return family


class DomainCollector(Collector):
    """The latest :class:`DomainFigures` as metric families (``relink_*``)."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.figures: DomainFigures | None = None
        self.read_at: float | None = None
        self.errors = 0
        self.runs = RunTotals()
        self._lock = asyncio.Lock()

    async def refresh(self) -> None:
        """Read the figures again unless the last reading is younger than the cache."""
        async with self._lock:
            if self.read_at is not None and time.monotonic() - self.read_at < CACHE_SECONDS:
                return
            try:
                self.figures = await asyncio.wait_for(self._read(), READ_TIMEOUT_SECONDS)
            except Exception as exc:  # a scrape shows stale figures and the error count
                self.errors += 1
                log.warning("ops.metrics.read_failed", error=type(exc).__name__)
            # Failed or not, the next try waits for the cache: a sick database is not hammered.
            self.read_at = time.monotonic()

    async def _read(self) -> DomainFigures:
        async with self.database.sessions() as session:
            if not self.database.is_sqlite:
                milliseconds = int(READ_TIMEOUT_SECONDS * 1000)
                await session.execute(text(f"SET LOCAL statement_timeout = {milliseconds}"))
            try:
                return await read_domain_figures(session, now=utcnow(), runs=self.runs)
            finally:
                await session.rollback()

    def collect(self) -> Iterator[Metric]:
        yield CounterMetricFamily(
            "relink_metrics_read_errors",
            "Readings of the domain figures that failed or timed out (stale figures shown).",
            value=self.errors,
        )
        figures = self.figures
        if figures is None:
            return
        yield _family(
            CounterMetricFamily(
                "relink_imports",
                "Import runs by outcome (running: not ended yet).",
                labels=["outcome"],
            ),
            figures.imports,
        )
        yield CounterMetricFamily(
            "relink_import_days", "Days of data imported by all runs.", value=figures.import_days
        )
        yield _family(
            CounterMetricFamily(
                "relink_import_failures",
                "Failed import runs by error class and provider.",
                labels=["error_class", "provider"],
            ),
            figures.import_failures,
        )
        yield _family(
            GaugeMetricFamily(
                "relink_grants", "Grants by provider and status.", labels=["provider", "status"]
            ),
            figures.grants,
        )
        yield _family(
            GaugeMetricFamily(
                "relink_grants_refresh_failing",
                "Active grants whose last refreshes failed without a definitive answer.",
                labels=["provider"],
            ),
            figures.grants_refresh_failing,
        )
        yield _family(
            CounterMetricFamily(
                "relink_grant_status_changes",
                "Grant status changes (a refresh or check that disconnected a grant, a reconnect).",
                labels=["from_status", "to_status"],
            ),
            figures.grant_status_changes,
        )
        yield _family(
            GaugeMetricFamily("relink_data_sources", "Data sources by status.", labels=["status"]),
            figures.data_sources,
        )
        yield _family(
            GaugeMetricFamily(
                "relink_incidents_open",
                "Open incidents by kind, error class and provider.",
                labels=["kind", "error_class", "provider"],
            ),
            figures.incidents_open,
        )
        yield _family(
            CounterMetricFamily(
                "relink_incidents_opened", "Incidents ever opened.", labels=["kind", "error_class"]
            ),
            figures.incidents_opened,
        )
        yield _family(
            CounterMetricFamily(
                "relink_notifications", "Notifications created, by kind.", labels=["kind"]
            ),
            figures.notifications,
        )
        yield _family(
            GaugeMetricFamily(
                "relink_emails",
                "Outbox e-mails by state (sent, pending, retrying, failed: given up).",
                labels=["state"],
            ),
            figures.emails,
        )
        yield _family(
            GaugeMetricFamily(
                "relink_webhook_deliveries",
                "Webhook deliveries by status (pending, delivered, failed).",
                labels=["status"],
            ),
            figures.webhook_deliveries,
        )
        yield _family(
            GaugeMetricFamily(
                "relink_queue_lag_seconds",
                "Age of the oldest due work nobody has taken yet, per queue (0: nothing waits).",
                labels=["queue"],
            ),
            figures.queue_lag,
        )
