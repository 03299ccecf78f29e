"""Row ids as they arrive from outside (paths, queries, forms): bounded to what a row can hold.

Every table's key is a 64-bit signed integer on PostgreSQL and SQLite alike. An id outside that
range can name no row, and handing it to the database fails deep inside the driver (SQLite
raises ``OverflowError``), so such input is refused at the edge with a 422 that names the field.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from pydantic import Field

# The largest BIGINT / SQLite INTEGER: no row can have a larger id.
MAX_ROW_ID = 2**63 - 1

RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="A row id (1 to 2^63 - 1).")]
"""A row id in the URL path."""

BoundedId = Annotated[int, Field(ge=1, le=MAX_ROW_ID)]
"""A row id inside a form list or a request body."""

CursorQuery = Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)]
"""An optional row id in the query string (a filter, or the cursor of the next page)."""
