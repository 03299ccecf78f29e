"""Name search: "contains", any case, written the one way an index can serve on both databases."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, func, literal

# The LIKE escape character (a "/" typed by a person is escaped too).
ESCAPE = "/"


def name_contains(column: Any, text: str, *, fixed: bool = False) -> ColumnElement[bool]:
    """``lower(column) LIKE lower('%text%')``, the wildcards of ``text`` taken literally.

    Not ILIKE: this form means the same on SQLite and PostgreSQL, and it is the form that the
    trigram indexes on ``lower(column)`` serve on PostgreSQL. ``fixed`` writes the pattern into
    the statement instead of sending it as a parameter: a plan made once for any pattern
    cannot tell a rare word (the trigram index) from a common one (read in order and filter).
    """
    return name_like(column, literal(contains_pattern(text), literal_execute=fixed))


def contains_pattern(text: str) -> str:
    """The LIKE pattern of "contains ``text``", its wildcards escaped."""
    escaped = text.replace(ESCAPE, ESCAPE * 2).replace("%", f"{ESCAPE}%").replace("_", f"{ESCAPE}_")
    return f"%{escaped}%"


def name_like(column: Any, pattern: ColumnElement[str]) -> ColumnElement[bool]:
    """``lower(column) LIKE lower(pattern)``: a ``contains_pattern`` given as a value or as a
    bound parameter (a statement built once for any text)."""
    return func.lower(column).like(func.lower(pattern), escape=ESCAPE)
