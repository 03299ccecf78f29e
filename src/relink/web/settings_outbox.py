"""Settings, E-mail outbox (admins): what Relink sent, or would have sent without SMTP."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from relink.dependencies import AdminPageUser, DbSession, Jobs
from relink.kit.row_ids import CursorQuery, RowId
from relink.notifications import outbox_view
from relink.web.settings_pages import render_settings

router = APIRouter(prefix="/settings/outbox", include_in_schema=False)

OUTBOX_PAGE_SIZE = 50


@router.get("", response_class=HTMLResponse)
async def outbox_page(
    request: Request,
    session: DbSession,
    user: AdminPageUser,
    jobs: Jobs,
    before: CursorQuery = None,
) -> Response:
    messages = await outbox_view.list_outbox(
        session, agency_id=user.agency_id, limit=OUTBOX_PAGE_SIZE, before_id=before
    )
    older = messages[-1].id if len(messages) == OUTBOX_PAGE_SIZE else None
    smtp = jobs.settings.smtp_url is not None
    return render_settings(request, "outbox.html", user, messages=messages, smtp=smtp, older=older)


@router.get("/{message_id}", response_class=HTMLResponse)
async def outbox_message_page(
    message_id: RowId, request: Request, session: DbSession, user: AdminPageUser, jobs: Jobs
) -> Response:
    message = await outbox_view.get_message(
        session, agency_id=user.agency_id, message_id=message_id
    )
    smtp = jobs.settings.smtp_url is not None
    return render_settings(request, "outbox_message.html", user, message=message, smtp=smtp)
