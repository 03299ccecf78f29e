"""The notifications inbox page: everything the bell holds, with filters and history."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from relink.dependencies import DbSession, Now, PageUser, StaffPageUser
from relink.notifications import kinds
from relink.notifications import service as inbox
from relink.web.templating import templates

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 25


@router.get("/inbox", response_class=HTMLResponse)
async def inbox_page(
    request: Request,
    session: DbSession,
    user: StaffPageUser,
    show: Annotated[inbox.Show, Query()] = "all",
    kind: str | None = None,
    cursor: str | None = None,
) -> Response:
    chosen_kind = kind if kind in kinds.LABELS else None
    page = await inbox.list_notifications(
        session, user=user, show=show, kind=chosen_kind, limit=PAGE_SIZE, cursor=cursor
    )
    filters = {"show": show, **({"kind": chosen_kind} if chosen_kind else {})}
    context = {
        "user": user,
        "items": page.items,
        "unread": await inbox.unread_count(session, user=user),
        "show": show,
        "kind": chosen_kind,
        "kinds": kinds.LABELS,
        "next_url": f"/inbox?{urlencode({**filters, 'cursor': page.next_cursor})}"
        if page.next_cursor
        else None,
    }
    return templates.TemplateResponse(request, "inbox.html", context)


@router.post("/inbox/read-all")
async def read_all(session: DbSession, user: PageUser, now: Now) -> Response:
    await inbox.mark_all_read(session, user=user, now=now)
    return RedirectResponse("/inbox", status_code=303)
