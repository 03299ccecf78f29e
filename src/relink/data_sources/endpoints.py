"""The Data Sources API: thin; parse, authorize, call the services.

Served twice (kit/versioned_routes.py): ``routes.v1`` under ``/api/v1``, documented, and
``routes.legacy`` under ``/api`` for the pages' scripts, hidden from the schema; the API key
form's endpoint is the pages' only.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Response
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from relink.data_sources import actions, removal, rows
from relink.data_sources.credentials import KeyNotVerified, KeyRefused, reverify_api_key
from relink.data_sources.schemas import (
    CredentialsIn,
    DataSourceOut,
    DataSourcePage,
    DisconnectIn,
    KeyRefusedOut,
    ListQuery,
    RemovalPreviewOut,
    SyncQueued,
    page_json,
)
from relink.dependencies import ApiReading, CurrentUser, DbSession, Jobs, Now
from relink.kit.problems import problem_responses
from relink.kit.query_models import query_model, query_parameters
from relink.kit.row_ids import RowId
from relink.kit.versioned_routes import VersionedRouter
from relink.models import User
from relink.worker.context import JobContext

routes = VersionedRouter("/data-sources", tags=["data sources"])

# What reading one data source can answer besides its own; acting on one adds 403 (a client
# login, or a write without its CSRF token) and 409 (its status does not allow the move).
_READ_ONE = problem_responses(401, 404, 422, 503)
_ACT = (401, 403, 404, 409, 422, 503)


async def _out(
    session: AsyncSession, jobs: JobContext, *, user: User, data_source_id: int
) -> DataSourceOut:
    row = await rows.get_row(session, user=user, data_source_id=data_source_id)
    return DataSourceOut.of(
        row, catalog=jobs.catalog, retention_days=jobs.settings.trash_retention_days
    )


@routes.get(
    "",
    operation_id="list_data_sources",
    summary="List data sources",
    response_model=DataSourcePage,
    responses=problem_responses(401, 422, 503),
    openapi_extra={"parameters": query_parameters(ListQuery)},
)
async def list_data_sources(
    reading: ApiReading,
    query: Annotated[ListQuery, Depends(query_model(ListQuery))],
) -> Response:
    """Disconnected first (or by client), filtered; the trash only with status=removed.

    Pages are keyset cursors: pass ``next_cursor`` (or ``prev_cursor``) back as ``cursor``."""
    jobs = reading.jobs
    page = await rows.list_rows(
        reading.session,
        user=reading.user,
        filters=query.filters(),
        sort=query.sort,
        limit=query.limit,
        cursor=query.cursor,
    )
    answer = page_json(
        page.items,
        next_cursor=page.next_cursor,
        prev_cursor=page.prev_cursor,
        catalog=jobs.catalog,
        retention_days=jobs.settings.trash_retention_days,
    )
    return Response(answer, media_type="application/json")


@routes.get(
    "/{data_source_id}",
    operation_id="get_data_source",
    summary="Get a data source",
    responses=_READ_ONE,
)
async def get_data_source(
    data_source_id: RowId, user: CurrentUser, session: DbSession, jobs: Jobs
) -> DataSourceOut:
    return await _out(session, jobs, user=user, data_source_id=data_source_id)


@routes.legacy.post(
    "/{data_source_id}/credentials",
    response_model=DataSourceOut,
    responses={422: {"model": KeyRefusedOut}, 503: {"model": KeyRefusedOut}},
)
async def replace_api_key(
    data_source_id: RowId,
    body: CredentialsIn,
    user: CurrentUser,
    session: DbSession,
    jobs: Jobs,
    now: Now,
) -> DataSourceOut | JSONResponse:
    """Re-verify an API key: trimmed, format-checked, tested live, then saved."""
    try:
        await reverify_api_key(
            session,
            ctx=jobs,
            user=user,
            data_source_id=data_source_id,
            raw_key=body.api_key.get_secret_value(),
            now=now,
        )
    except (KeyRefused, KeyNotVerified) as refused:
        # The form shows the reason next to the field; nothing was saved. (Its own {detail,
        # reason} shape: the pages' only, not /api/v1.)
        answer = KeyRefusedOut(detail=refused.message, reason=refused.reason)
        return JSONResponse(answer.model_dump(), status_code=refused.status_code)
    return await _out(session, jobs, user=user, data_source_id=data_source_id)


@routes.get(
    "/{data_source_id}/removal",
    operation_id="get_data_source_removal",
    summary="Preview what disconnecting removes",
    responses=_READ_ONE,
)
async def removal_preview(
    data_source_id: RowId, user: CurrentUser, session: DbSession, jobs: Jobs, now: Now
) -> RemovalPreviewOut:
    """What the Disconnect confirmation names: client, provider, days of data, purge date."""
    preview = await removal.removal_preview(
        session,
        user=user,
        data_source_id=data_source_id,
        now=now,
        catalog=jobs.catalog,
        retention_days=jobs.settings.trash_retention_days,
    )
    return RemovalPreviewOut.of(preview)


@routes.post(
    "/{data_source_id}/disconnect",
    operation_id="disconnect_data_source",
    summary="Disconnect a data source (to the trash)",
    responses=problem_responses(*_ACT),
)
async def disconnect(
    data_source_id: RowId,
    body: DisconnectIn,
    user: CurrentUser,
    session: DbSession,
    jobs: Jobs,
    now: Now,
) -> DataSourceOut:
    """To the trash (restorable until the purge date); needs the client's name typed."""
    await removal.disconnect(
        session,
        ctx=jobs,
        user=user,
        data_source_id=data_source_id,
        confirm=body.confirm,
        now=now,
    )
    return await _out(session, jobs, user=user, data_source_id=data_source_id)


@routes.post(
    "/{data_source_id}/restore",
    operation_id="restore_data_source",
    summary="Restore a data source from the trash",
    # 410: the trash's retention window is over.
    responses=problem_responses(*_ACT, 410),
)
async def restore(
    data_source_id: RowId, user: CurrentUser, session: DbSession, jobs: Jobs, now: Now
) -> DataSourceOut:
    await removal.restore(
        session,
        user=user,
        data_source_id=data_source_id,
        now=now,
        retention_days=jobs.settings.trash_retention_days,
    )
    return await _out(session, jobs, user=user, data_source_id=data_source_id)


@routes.post(
    "/{data_source_id}/pause",
    operation_id="pause_data_source",
    summary="Pause a data source",
    responses=problem_responses(*_ACT),
)
async def pause(
    data_source_id: RowId, user: CurrentUser, session: DbSession, jobs: Jobs, now: Now
) -> DataSourceOut:
    await actions.pause(session, user=user, data_source_id=data_source_id, now=now)
    return await _out(session, jobs, user=user, data_source_id=data_source_id)


@routes.post(
    "/{data_source_id}/resume",
    operation_id="resume_data_source",
    summary="Resume a data source",
    responses=problem_responses(*_ACT),
)
async def resume(
    data_source_id: RowId, user: CurrentUser, session: DbSession, jobs: Jobs, now: Now
) -> DataSourceOut:
    await actions.resume(session, user=user, data_source_id=data_source_id, now=now)
    return await _out(session, jobs, user=user, data_source_id=data_source_id)


@routes.post(
    "/{data_source_id}/sync",
    status_code=202,
    operation_id="sync_data_source",
    summary="Import a data source now",
    responses=problem_responses(*_ACT),
)
async def sync_now(
    data_source_id: RowId, user: CurrentUser, session: DbSession, now: Now
) -> SyncQueued:
    """Try again: the import runs after this answer; incidents close only if it succeeds."""
    await actions.sync_now(session, user=user, data_source_id=data_source_id, now=now)
    return SyncQueued(data_source_id=data_source_id)
