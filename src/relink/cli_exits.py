"""The exit codes of ``relink``'s commands, which cron jobs and monitoring probes read
(docs/cli.md), and the one place a database that is away becomes its own code and a sentence
instead of a traceback."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import IntEnum
from typing import Any

import typer
from rich.console import Console

from relink.db import database_unavailable
from relink.errors import DatabaseUnavailable


class ExitCode(IntEnum):
    """What a command's exit status means; the numbers are a promise (docs/cli.md)."""

    OK = 0
    # `relink status`: a disconnected data source or an open operations alert waits for someone.
    NEEDS_A_PERSON = 1
    # Click's own code for a usage error (an unknown option, a bad value), which Typer keeps,
    # and Relink's for input or configuration a person must fix (a password too short, no key).
    USAGE = 2
    # The database refused, dropped or could not open a connection: waiting is the fix.
    DATABASE_AWAY = 3


err = Console(stderr=True)


def database_away(error: BaseException) -> DatabaseUnavailable | None:
    """Whether ``error``, or what caused it, says the database is away (db.database_unavailable's
    rule); None for any other error, which stays a traceback, since it is a bug."""
    seen: set[int] = set()
    pending: list[BaseException] = [error]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, DatabaseUnavailable):
            return current
        away = database_unavailable(current)
        if away is not None:
            return away
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
        pending.extend(e for e in (current.__cause__, current.__context__) if e is not None)
    return None


@contextmanager
def exit_when_database_away(
    *, as_json: bool = False, json_fields: Callable[[], dict[str, Any]] | None = None
) -> Iterator[None]:
    """Run the block; if the database is away, say so on stderr (and, with ``--json``, as one
    object on stdout, with what ``json_fields`` gives) and exit with ``ExitCode.DATABASE_AWAY``."""
    try:
        yield
    except typer.Exit:
        raise
    except Exception as exc:
        away = database_away(exc)
        if away is None:
            raise
        if as_json:
            fields = json_fields() if json_fields else {}
            answer = {**fields, "error": "database_unavailable", "message": away.message}
            typer.echo(json.dumps(answer))
        err.print(f"[red]error:[/red] {away.message}", highlight=False)
        raise typer.Exit(code=ExitCode.DATABASE_AWAY) from None
