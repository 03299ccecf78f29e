"""One data source's page: its status, what to do about it, and its recent imports."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from relink.data_sources import rows
from relink.data_sources.service import list_sync_runs
from relink.dependencies import DbSession, Jobs, Now, StaffPageUser
from relink.kit.row_ids import RowId
from relink.web.data_source_views import AUTH_KIND_LABELS, provider_label, view_context
from relink.web.templating import templates

router = APIRouter(include_in_schema=False)

# Enough imports to see a pattern (one a day, plus retries and backfills) on one screen.
RECENT_RUNS = 10


@router.get("/data-sources/{data_source_id}", response_class=HTMLResponse)
async def data_source_page(
    data_source_id: RowId,
    request: Request,
    session: DbSession,
    user: StaffPageUser,
    jobs: Jobs,
    now: Now,
) -> Response:
    """Where "Try again" lands: the import it started shows in the list of runs.

    Client logins see their client's sources on the list, without reasons or actions.
    """
    row = await rows.get_row(session, user=user, data_source_id=data_source_id)
    runs = await list_sync_runs(
        session, user=user, data_source_id=data_source_id, limit=RECENT_RUNS
    )
    context = view_context(
        request,
        user,
        jobs,
        now,
        row=row,
        runs=runs,
        label=provider_label(row.source.provider),
        auth_kinds=AUTH_KIND_LABELS,
    )
    return templates.TemplateResponse(request, "data_sources/detail.html", context)
