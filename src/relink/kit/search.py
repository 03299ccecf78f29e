"""Name search: "contains", any case, written the one way an index can serve on both databases."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, func, literal

# The LIKE escape character (a "/" typed by a person is escaped too).
ESCAPE = "/"


def name_contains(column: Any, text: str) -> ColumnElement[bool]:
    """``lower(column) LIKE lower('%text%')``, the wildcards of ``text`` taken literally.

    Not ILIKE: this form means the same on SQLite and PostgreSQL, and it is the form that the
    trigram indexes on ``lower(column)`` serve on PostgreSQL.
    """
    escaped = text.replace(ESCAPE, ESCAPE * 2).replace("%", f"{ESCAPE}%").replace("_", f"{ESCAPE}_")
    pattern = func.lower(literal(f"%{escaped}%"))
    return func.lower(column).like(pattern, escape=ESCAPE)
