"""`relink check` and `relink backfill status`: the health engine from a terminal (`relink
status` is cli_status.py)."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from functools import partial
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from relink.auth.access import operator_scope
from relink.cli_exits import ExitCode, err, exit_when_database_away
from relink.db import default_database
from relink.errors import RelinkError
from relink.grants.backfill import Progress as BackfillProgress
from relink.grants.backfill import backfills
from relink.models.base import utcnow
from relink.worker.context import build_context
from relink.worker.job_states import run_answering
from relink.worker.registry import JobName
from relink.worker.sweep import SweepReport, count_due_data_sources, sweep

console = Console()

# The shape of `relink backfill status --json` (docs/cli.md).
BACKFILL_SCHEMA_VERSION = 1


def check(
    due_only: Annotated[
        bool,
        typer.Option(help="Refresh only the grants whose refresh is due, as the schedule does."),
    ] = False,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print one JSON object once the sweep has finished: its state (done or "
            "failed), when it started and finished, and what it did.",
        ),
    ] = False,
) -> None:
    """Check every active grant now (a token refresh each) and import what is due."""
    started = utcnow()
    try:
        with exit_when_database_away(
            as_json=as_json, json_fields=lambda: _finished("failed", started)
        ):
            report = asyncio.run(_check(check_every_grant=not due_only, show_progress=not as_json))
    except typer.Exit:
        raise
    except RelinkError as exc:  # a setting to fix (no secret keys): said, not a traceback
        if as_json:
            fields = _finished("failed", started, error=type(exc).__name__, message=exc.message)
            typer.echo(json.dumps(fields))
        err.print(f"[red]error:[/red] {exc.message}", highlight=False)
        raise typer.Exit(code=ExitCode.USAGE) from exc
    except Exception as exc:
        if as_json:
            # The answer on stdout, the traceback on stderr (and a non-zero exit).
            typer.echo(json.dumps(_finished("failed", started, error=type(exc).__name__)))
        raise
    if as_json:
        typer.echo(json.dumps(_finished("done", started, report=report.summary())))
        return
    table = Table(title="Sweep")
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_row("data sources imported", str(report.imported))
    table.add_row("days written", str(report.days))
    for outcome, count in sorted(report.refreshed.items()):
        table.add_row(f"grants {outcome.replace('_', ' ')}", str(count))
    for error_class, count in sorted(report.failures.items()):
        table.add_row(f"failed: {error_class}", str(count))
    table.add_row(
        "disconnected", str(report.disconnected), style="red" if report.disconnected else None
    )
    table.add_row(
        "incidents opened",
        str(report.incidents_opened),
        style="red" if report.incidents_opened else None,
    )
    if report.interrupted_runs:
        table.add_row("interrupted imports closed", str(report.interrupted_runs))
    console.print(table)


def _finished(state: str, started: datetime, **fields: Any) -> dict[str, Any]:
    """The sweep's end, in the fields of a queued job's state (``GET /api/jobs/{id}``)."""
    return {
        "job": JobName.SWEEP.value,
        "state": state,
        "started_at": started.isoformat(),
        "finished_at": utcnow().isoformat(),
        **fields,
    }


async def _check(*, check_every_grant: bool, show_progress: bool) -> SweepReport:
    ctx = build_context()
    try:
        total = await count_due_data_sources(ctx)
        columns = (TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        progress = Progress(*columns, console=console, transient=True, disable=not show_progress)
        with progress:
            task = progress.add_task("import", total=total or None)
            # An operator asking "is everything all right?" wants every grant checked now,
            # not only those whose refresh happens to be due (each is refreshed once). Like
            # any sweep, it answers the admins' sweep requests queued before it began.
            work = partial(
                sweep,
                ctx,
                check_every_grant=check_every_grant,
                on_progress=lambda done: progress.update(task, completed=done),
            )
            return await run_answering(ctx, JobName.SWEEP, work)
    finally:
        await ctx.close()
        await ctx.database.dispose()


backfill_app = typer.Typer(help="Re-imports of the days an outage left missing.")


@backfill_app.command("status")
def backfill_status(
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print one JSON object: every running backfill, its days done of days "
            "missing (docs/cli.md).",
        ),
    ] = False,
) -> None:
    """Print every running backfill: days done of days missing."""
    checked_at = utcnow()
    with exit_when_database_away(as_json=as_json):
        rows = asyncio.run(_backfills())
    if as_json:
        typer.echo(json.dumps(backfills_json(rows, checked_at=checked_at)))
        return
    table = Table(title="Backfills")
    for column in ("client", "provider", "missing since", "progress"):
        table.add_column(column)
    for item in rows:
        table.add_row(
            item.client_name,
            item.provider,
            f"{item.gap_start:%d %b %Y}",
            f"{item.days_done} / {item.days_total} days",
        )
    if not rows:
        table.add_row("(none running)", "", "", "")
    console.print(table)


def backfills_json(rows: list[BackfillProgress], *, checked_at: datetime) -> dict[str, Any]:
    """The documented answer of ``relink backfill status --json`` (docs/cli.md)."""
    return {
        "schema_version": BACKFILL_SCHEMA_VERSION,
        "checked_at": checked_at.isoformat(),
        "running": sum(not item.done for item in rows),
        "backfills": [
            {
                "data_source_id": item.data_source_id,
                "client": item.client_name,
                "provider": item.provider,
                "missing_since": item.gap_start.isoformat(),
                "days_done": item.days_done,
                "days_total": item.days_total,
                "done": item.done,
            }
            for item in rows
        ],
    }


async def _backfills() -> list[BackfillProgress]:
    database = default_database()
    try:
        async with database.transaction() as session:
            everything = operator_scope("relink backfill status: every agency's backfills")
            return await backfills(session, scope=everything, today=utcnow().date())
    finally:
        await database.dispose()


def register(app: typer.Typer) -> None:
    app.command("check")(check)
    app.add_typer(backfill_app, name="backfill")
