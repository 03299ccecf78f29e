"""Keyset pagination: an opaque cursor of the last row's sort key, never OFFSET."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from relink.errors import InvalidInput

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


# Marks a cursor that pages backwards (to the rows before its key); one without it pages on.
BEFORE = "before"


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None
    prev_cursor: str | None = None


def encode_cursor(key: Sequence[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key), default=str).encode()).decode()


def decode_cursor(cursor: str, *, length: int) -> list[Any]:
    """The sort key in ``cursor``; a clear error when it was not made by ``encode_cursor``."""
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, TypeError) as exc:
        raise InvalidInput("the page cursor is malformed: start again from the first page") from exc
    if not isinstance(key, list) or len(key) != length:
        raise InvalidInput("the page cursor is malformed: start again from the first page")
    return key


def encode_before(key: Sequence[Any]) -> str:
    """A cursor to the page that ends just before ``key`` (the "previous page" link)."""
    return encode_cursor([BEFORE, *key])


def decode_keyset(cursor: str, *, length: int) -> tuple[bool, list[Any]]:
    """(forward, key) of a cursor made by ``encode_cursor`` or ``encode_before``."""
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, TypeError) as exc:
        raise InvalidInput("the page cursor is malformed: start again from the first page") from exc
    if isinstance(key, list) and len(key) == length + 1 and key[0] == BEFORE:
        return False, key[1:]
    if isinstance(key, list) and len(key) == length:
        return True, key
    raise InvalidInput("the page cursor is malformed: start again from the first page")


def clamp_limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_PAGE_SIZE
    if limit < 1:
        raise InvalidInput("limit must be at least 1")
    return min(limit, MAX_PAGE_SIZE)
