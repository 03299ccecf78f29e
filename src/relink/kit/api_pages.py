"""Keyset pages of the ``/api/v1`` lists: a bounded ``limit``, an opaque ``cursor``, never OFFSET.

A list reads ``limit + 1`` rows after the cursor's key in its own order; the extra row only says
that another page exists, and the last row shown becomes the next cursor. A cursor is the
base64 of the last row's sort key (``kit/pagination.py``); one that was not made here, or whose
key is not of the list's shape, is a 422 saying to start again from the first page.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from fastapi import Query
from pydantic import AfterValidator, AwareDatetime

from relink.errors import InvalidInput
from relink.kit.pagination import decode_cursor, encode_cursor
from relink.kit.row_ids import MAX_ROW_ID

T = TypeVar("T")

# Rows per page when the caller names none, and the most a caller may ask for: enough for a
# script to walk a large agency in few requests, small enough that one page stays cheap.
DEFAULT_LIMIT = 50
MAX_LIMIT = 200
# A cursor of ours is a short key: anything longer was not made here (and a long one would
# only cost the decoder work).
MAX_CURSOR_LENGTH = 400

Limit = Annotated[
    int,
    Query(ge=1, le=MAX_LIMIT, description=f"Rows per page (1 to {MAX_LIMIT})."),
]
"""The ``limit`` query parameter of a v1 list."""

Cursor = Annotated[
    str | None,
    Query(
        max_length=MAX_CURSOR_LENGTH,
        description="The next_cursor of the previous page; omit it for the first page.",
    ),
]
"""The ``cursor`` query parameter of a v1 list."""


def id_filter(description: str) -> Any:
    """The ``Query(...)`` of an optional row id that narrows a list: bounded like a path id."""
    return Query(ge=1, le=MAX_ROW_ID, description=f"{description} (a row id, 1 to 2^63 - 1)")


_MALFORMED = "the page cursor is malformed: start again from the first page"


def _utc(value: datetime) -> datetime:
    # A year-1 time with a positive offset lies before datetime.min in UTC: no row is there.
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("the time is outside the range of dates Relink stores") from None


UtcTime = Annotated[AwareDatetime, AfterValidator(_utc)]
"""A time in a query or body: with its offset (RFC 3339), read as UTC."""


def id_after(cursor: str | None) -> int | None:
    """The row id a cursor of an id-ordered list points after (None: the first page)."""
    if cursor is None:
        return None
    (last_id,) = decode_cursor(cursor, length=1)
    return _row_id(last_id)


def name_id_after(cursor: str | None) -> tuple[str, int] | None:
    """The (name, id) a cursor of a name-ordered list points after (None: the first page)."""
    if cursor is None:
        return None
    name, last_id = decode_cursor(cursor, length=2)
    # A NUL or a lone surrogate is no name's (neither database would take it): this cursor
    # was not made here.
    if not isinstance(name, str) or "\x00" in name or _unencodable(name):
        raise InvalidInput(_MALFORMED)
    return name, _row_id(last_id)


def _unencodable(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return True
    return False


def _row_id(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ROW_ID:
        raise InvalidInput(_MALFORMED)
    return value


def page_of(rows: Sequence[T], *, limit: int, key: Any) -> tuple[list[T], str | None]:
    """The page's rows (``rows`` holds up to ``limit + 1``) and the cursor of the next page:
    ``key(last row shown)`` when a further row was read, else None."""
    shown = list(rows[:limit])
    if len(rows) <= limit or not shown:
        return shown, None
    return shown, encode_cursor(key(shown[-1]))
