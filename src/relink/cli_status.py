"""`relink status`: health per provider and per client, and what needs a person, for a person
at a terminal or (``--json``, the exit code) a cron job or a monitoring probe (docs/cli.md)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from relink.auth.access import operator_scope
from relink.cli_exits import ExitCode, exit_when_database_away
from relink.data_sources.attention import DATA_SOURCE, Attention, NeedsAPerson, needs_a_person
from relink.data_sources.health import HealthRow, health_by_client, health_by_provider
from relink.db import default_database
from relink.models.base import utcnow
from relink.status import DataSourceStatus

# The shape of `relink status --json` (docs/cli.md): a key is added, never renamed or removed,
# without a new number here.
STATUS_SCHEMA_VERSION = 1
# Rows of what needs a person listed by default; the totals always count them all.
DEFAULT_LIMIT = 100

console = Console()

_STATUS_STYLE = {
    DataSourceStatus.CONNECTED: "green",
    DataSourceStatus.FAILING: "yellow",
    DataSourceStatus.DISCONNECTED: "red",
    DataSourceStatus.PAUSED: "dim",
    DataSourceStatus.REMOVED: "dim",
}


@dataclass(frozen=True)
class StatusReport:
    checked_at: datetime
    by_provider: list[HealthRow]
    by_client: list[HealthRow]
    attention: Attention

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.NEEDS_A_PERSON if self.attention.total else ExitCode.OK


def status(
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print one JSON object: counts by status, per provider and per client, and "
            "the rows that need a person (docs/cli.md).",
        ),
    ] = False,
    limit: Annotated[
        int,
        typer.Option(min=0, help="List at most this many rows that need a person (all counted)."),
    ] = DEFAULT_LIMIT,
) -> None:
    """Print health by provider and by client, and what needs a person.

    Exits 0 when nothing needs a person, 1 when a data source is disconnected or an operations
    alert is open, 3 when the database cannot be reached (docs/cli.md).
    """
    with exit_when_database_away(as_json=as_json):
        report = asyncio.run(_status(limit=limit))
    if as_json:
        typer.echo(json.dumps(status_json(report)))
    else:
        _print(report)
    raise typer.Exit(code=report.exit_code)


def status_json(report: StatusReport) -> dict[str, Any]:
    """The documented answer of ``relink status --json`` (docs/cli.md); nothing secret in it."""
    return {
        "schema_version": STATUS_SCHEMA_VERSION,
        "checked_at": report.checked_at.isoformat(),
        "healthy": report.attention.total == 0,
        "exit_code": int(report.exit_code),
        "counts": _counts(report.by_provider),
        "operations_alerts": report.attention.operations_alerts,
        "by_provider": [{"provider": r.name, "counts": _counts([r])} for r in report.by_provider],
        "by_client": [{"client": r.name, "counts": _counts([r])} for r in report.by_client],
        "needs_a_person_total": report.attention.total,
        "needs_a_person": [_row_json(row) for row in report.attention.rows],
    }


def _counts(rows: list[HealthRow]) -> dict[str, int]:
    """Every status, zero included, so a reader never meets a missing key."""
    return {s.value: sum(row.counts.get(s, 0) for row in rows) for s in DataSourceStatus}


def _row_json(row: NeedsAPerson) -> dict[str, Any]:
    fields = asdict(row)
    fields["since"] = row.since.isoformat() if row.since else None
    return fields


async def _status(*, limit: int) -> StatusReport:
    database = default_database()
    try:
        async with database.transaction() as session:
            everything = operator_scope("relink status: the operator's view of every agency")
            return StatusReport(
                checked_at=utcnow(),
                by_provider=await health_by_provider(session, scope=everything),
                by_client=await health_by_client(session, scope=everything),
                attention=await needs_a_person(session, limit=limit),
            )
    finally:
        await database.dispose()


def _print(report: StatusReport) -> None:
    console.print(_table("By provider", "provider", report.by_provider))
    console.print(_table("By client", "client", report.by_client))
    attention = report.attention
    if not attention.total:
        console.print("[green]Nothing needs a person.[/green]")
        return
    table = Table(title="Needs a person")
    for column in ("what", "agency", "provider", "client", "reason", "since"):
        table.add_column(column)
    for row in attention.rows:
        what = "disconnected" if row.kind == DATA_SOURCE else "operations alert"
        since = f"{row.since:%d %b %Y %H:%M} UTC" if row.since else ""
        names = (row.agency, row.provider, row.client or "")
        table.add_row(what, *map(escape, names), row.reason or "", since)
    console.print(table)
    unlisted = attention.total - len(attention.rows)
    more = f" ({unlisted} not listed: --limit)" if unlisted else ""
    console.print(
        f"[red]{attention.disconnected} disconnected, {attention.operations_alerts} operations "
        f"alert{'s' if attention.operations_alerts != 1 else ''} open[/red]{more}",
        highlight=False,
    )


def _table(title: str, first: str, rows: list[HealthRow]) -> Table:
    table = Table(title=title)
    table.add_column(first)
    for status in DataSourceStatus:
        table.add_column(status.value, justify="right", style=_STATUS_STYLE[status])
    for row in rows:
        # A name is shown as written, never read as Rich markup ("[bold]" in a client's name).
        counts = (str(row.counts.get(s, 0) or "") for s in DataSourceStatus)
        table.add_row(escape(row.name), *counts)
    if not rows:
        table.add_row("(no data sources)")
    return table
