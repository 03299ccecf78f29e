"""A data source's two forms: a new API key, and Disconnect (to the trash, with its data)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from relink.data_sources import removal, rows
from relink.data_sources.credentials import KeyNotVerified, KeyRefused, reverify_api_key
from relink.data_sources.staff import require_staff
from relink.dependencies import DbSession, Jobs, Now, PageUser
from relink.errors import InvalidInput
from relink.kit.row_ids import RowId
from relink.models import User
from relink.providers.taxonomy import AuthKind
from relink.web.data_source_views import RETURN_PAGES, provider_label, view_context
from relink.web.templating import templates
from relink.worker.context import JobContext

router = APIRouter(include_in_schema=False)

Next = Annotated[str | None, Form()]


@router.get("/data-sources/{data_source_id}/credentials", response_class=HTMLResponse)
async def credentials_page(
    data_source_id: RowId,
    request: Request,
    session: DbSession,
    user: PageUser,
    jobs: Jobs,
    now: Now,
) -> Response:
    return await _credentials_form(request, session, user, jobs, data_source_id, now=now)


@router.post("/data-sources/{data_source_id}/credentials", response_class=HTMLResponse)
async def replace_key(
    data_source_id: RowId,
    request: Request,
    session: DbSession,
    user: PageUser,
    jobs: Jobs,
    now: Now,
    api_key: Annotated[str, Form()] = "",
) -> Response:
    try:
        source = await reverify_api_key(
            session,
            ctx=jobs,
            user=user,
            data_source_id=data_source_id,
            raw_key=api_key,
            now=now,
        )
    except KeyRefused as refused:
        # Nothing was saved: the old key keeps working until a good one replaces it.
        return await _credentials_form(
            request, session, user, jobs, data_source_id, now=now, refused=refused, status=422
        )
    except KeyNotVerified as unsure:
        return await _credentials_form(
            request,
            session,
            user,
            jobs,
            data_source_id,
            now=now,
            unsure=unsure.message,
            status=503,
        )
    return RedirectResponse(f"/clients/{source.client_id}?done=key", status_code=303)


async def _credentials_form(
    request: Request,
    session: AsyncSession,
    user: User,
    jobs: JobContext,
    data_source_id: int,
    *,
    now: datetime,
    refused: KeyRefused | None = None,
    unsure: str | None = None,
    status: int = 200,
) -> Response:
    require_staff(user, "change a data source's API key")
    row = await rows.get_row(session, user=user, data_source_id=data_source_id)
    spec = jobs.catalog.get(row.source.provider) if row.source.provider in jobs.catalog else None
    if row.auth_kind is not AuthKind.API_KEY or spec is None or spec.api_key is None:
        raise InvalidInput("this data source signs in with its provider, not a key: use Reconnect")
    context = view_context(
        request,
        user,
        jobs,
        now,
        row=row,
        label=provider_label(row.source.provider),
        format_hint=spec.api_key.format_hint,
        refused=refused,
        unsure=unsure,
    )
    return templates.TemplateResponse(
        request, "data_sources/credentials.html", context, status_code=status
    )


@router.get("/data-sources/{data_source_id}/disconnect", response_class=HTMLResponse)
async def disconnect_page(
    data_source_id: RowId,
    request: Request,
    session: DbSession,
    user: PageUser,
    jobs: Jobs,
    now: Now,
    next: str | None = None,
) -> Response:
    return await _disconnect_form(request, session, user, jobs, data_source_id, now=now, next=next)


@router.post("/data-sources/{data_source_id}/disconnect", response_class=HTMLResponse)
async def disconnect(
    data_source_id: RowId,
    request: Request,
    session: DbSession,
    user: PageUser,
    jobs: Jobs,
    now: Now,
    confirm: Annotated[str, Form()] = "",
    next: Next = None,
) -> Response:
    try:
        source = await removal.disconnect(
            session,
            ctx=jobs,
            user=user,
            data_source_id=data_source_id,
            confirm=confirm,
            now=now,
        )
    except InvalidInput as wrong_name:
        return await _disconnect_form(
            request,
            session,
            user,
            jobs,
            data_source_id,
            now=now,
            next=next,
            error=wrong_name.message,
            typed=confirm,
            status=422,
        )
    # The client's page, whatever the form came from: its trash section holds the Restore.
    return RedirectResponse(f"/clients/{source.client_id}?done=disconnected#trash", status_code=303)


async def _disconnect_form(
    request: Request,
    session: AsyncSession,
    user: User,
    jobs: JobContext,
    data_source_id: int,
    *,
    now: datetime,
    next: str | None,
    error: str | None = None,
    typed: str = "",
    status: int = 200,
) -> Response:
    preview = await removal.removal_preview(
        session,
        user=user,
        data_source_id=data_source_id,
        now=now,
        catalog=jobs.catalog,
        retention_days=jobs.settings.trash_retention_days,
    )
    row = await rows.get_row(session, user=user, data_source_id=data_source_id)
    cancel = next if next and next.startswith(RETURN_PAGES) else "/data-sources"
    context = view_context(
        request,
        user,
        jobs,
        now,
        preview=preview,
        row=row,
        error=error,
        typed=typed,
        next=cancel,
        label=provider_label(preview.provider),
    )
    return templates.TemplateResponse(
        request, "data_sources/disconnect.html", context, status_code=status
    )
