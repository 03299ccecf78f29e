"""``/api/v1/data-sources/{id}/sync-runs``: the imports of one data source, newest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from relink.data_sources.run_listing import RunFilters, list_runs
from relink.data_sources.run_schemas import SyncRunOut, SyncRunPage
from relink.dependencies import DbSession, Scope
from relink.kit.api_pages import DEFAULT_LIMIT, Cursor, Limit, id_after, page_of
from relink.kit.problems import problem_responses
from relink.kit.row_ids import RowId
from relink.models import SyncOutcome, SyncTrigger

router = APIRouter(prefix="/api/v1/data-sources", tags=["data sources"])


@router.get(
    "/{data_source_id}/sync-runs",
    operation_id="list_sync_runs",
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def list_sync_runs(
    data_source_id: RowId,
    scope: Scope,
    session: DbSession,
    outcome: Annotated[
        SyncOutcome | None, Query(description="Only runs that ended so (or still run)")
    ] = None,
    trigger: Annotated[SyncTrigger | None, Query(description="Only runs started so")] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> SyncRunPage:
    """The data source's imports, newest first, with what each imported or why it failed."""
    rows = await list_runs(
        session,
        scope=scope,
        data_source_id=data_source_id,
        filters=RunFilters(outcome=outcome, trigger=trigger),
        limit=limit,
        before_id=id_after(cursor),
    )
    shown, next_cursor = page_of(rows, limit=limit, key=lambda r: [r.id])
    return SyncRunPage(items=[SyncRunOut.of(r) for r in shown], next_cursor=next_cursor)
