"""The account-level Data Sources page and its row actions (pause, resume, sync, restore)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from relink.auth.access import is_staff_or_admin, scope_of
from relink.clients import client_view
from relink.clients import service as clients
from relink.clients.summary import SummaryCache
from relink.data_sources import actions, removal, rows
from relink.data_sources.rows import Filters, Sort
from relink.dependencies import (
    DbSession,
    Jobs,
    Now,
    PageReading,
    PageUser,
    StaffPageUser,
)
from relink.kit.row_ids import RowId
from relink.providers.taxonomy import AuthKind
from relink.status import DataSourceStatus
from relink.web.data_source_views import AUTH_KIND_LABELS, back_to, provider_label, view_context
from relink.web.templating import templates

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
# A bookmarked ?limit= larger than this is read as this, not refused.
MAX_PAGE_SIZE = 200
# The query parameters that make up "the list I was looking at"; links and redirects keep them.
LIST_PARAMS = ("status", "provider", "client", "auth", "q", "sort", "limit")
# The parameters that narrow the list (a filtered list says so when it comes back empty).
FILTER_PARAMS = ("status", "provider", "client", "auth", "q")
_STATUS_VALUES = frozenset(s.value for s in DataSourceStatus)
_AUTH_VALUES = frozenset(k.value for k in AuthKind)


def _filters(params: dict[str, str]) -> Filters:
    """Unknown values are ignored rather than refused: a stale bookmark still opens."""
    status = params.get("status", "")
    auth = params.get("auth", "")
    client = params.get("client", "")
    return Filters(
        status=DataSourceStatus(status) if status in _STATUS_VALUES else None,
        provider=params.get("provider") or None,
        client_id=int(client) if client.isdigit() else None,
        auth_kind=AuthKind(auth) if auth in _AUTH_VALUES else None,
        q=params.get("q") or None,
    )


def list_url(params: dict[str, str], **changes: str | None) -> str:
    merged = {**params, **changes}
    kept = {k: v for k, v in merged.items() if v and (k in LIST_PARAMS or k == "cursor")}
    return "/data-sources" + (f"?{urlencode(kept)}" if kept else "")


@router.get("/data-sources", response_class=HTMLResponse)
async def data_sources_page(
    request: Request,
    reading: PageReading,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = PAGE_SIZE,
) -> Response:
    session, user, jobs, now = reading.session, reading.user, reading.jobs, reading.now
    if not is_staff_or_admin(user):
        # Client logins read how current their data is, never why (clients/client_view.py).
        own = await client_view.own_sources(session, user=user, today=now.date())
        context = view_context(request, user, jobs, now, sources=own)
        return templates.TemplateResponse(request, "data_sources/client_view.html", context)
    params = {k: v.strip() for k, v in request.query_params.items() if k in LIST_PARAMS}
    if "client_q" in request.query_params and not request.query_params["client_q"].strip():
        # The client box was emptied before "Apply": any client again.
        params.pop("client", None)
    sort = Sort.STATUS if params.get("sort") == Sort.STATUS else Sort.CLIENT
    filters = _filters(params)
    page = await rows.list_rows(
        session,
        user=user,
        filters=filters,
        sort=sort,
        limit=limit,
        cursor=cursor,
    )
    # After the rows: the counts may be kept only if no status changed before those rows were
    # read (the cache asks the agency's status version through this same session).
    summary = await _summaries(request).get(request.app.state.database, user=user, reading=session)
    chosen_client = None
    if filters.client_id is not None:
        chosen_client = await clients.visible_client_name(
            session, scope=scope_of(user), client_id=filters.client_id
        )
    providers = sorted((provider_label(s.key) for s in jobs.catalog), key=lambda p: p.name)
    context = view_context(
        request,
        user,
        jobs,
        now,
        rows=page.items,
        params=params,
        filters=filters,
        sort=sort.value,
        filtered=any(params.get(k) for k in FILTER_PARAMS),
        counts=summary.counts,
        live=sum(n for s, n in summary.counts.items() if s is not DataSourceStatus.REMOVED),
        broken=summary.broken,
        chosen_client=chosen_client,
        providers=providers,
        auth_kinds=AUTH_KIND_LABELS,
        statuses=sorted(DataSourceStatus, key=rows.STATUS_RANK.__getitem__),
        list_url=lambda **changes: list_url(params, **changes),
        next_url=list_url(params, cursor=page.next_cursor) if page.next_cursor else None,
        prev_url=list_url(params, cursor=page.prev_cursor) if page.prev_cursor else None,
        first_url=list_url(params) if cursor else None,
    )
    return templates.TemplateResponse(request, "data_sources/list.html", context)


@router.get("/data-sources/client-matches", response_class=HTMLResponse)
async def client_matches(
    request: Request,
    session: DbSession,
    user: StaffPageUser,
    client_q: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """The client filter's type-ahead: at most 20 of the user's clients, as links that keep the
    page's other filters (an htmx fragment)."""
    params = {k: v.strip() for k, v in request.query_params.items() if k in LIST_PARAMS}
    matches = await clients.find_clients(session, scope=scope_of(user), text=client_q)
    context = {
        "matches": matches,
        "typed": client_q.strip(),
        "list_url": lambda **changes: list_url(params, **changes),
    }
    return templates.TemplateResponse(request, "data_sources/_client_matches.html", context)


def _summaries(request: Request) -> SummaryCache:
    """This app's cache of the status chips and broken sign-ins (one per app, per process)."""
    cache: SummaryCache = request.app.state.data_source_summaries
    return cache


Next = Annotated[str | None, Form()]


@router.post("/data-sources/{data_source_id}/pause")
async def pause(
    data_source_id: RowId, session: DbSession, user: PageUser, now: Now, next: Next = None
) -> Response:
    await actions.pause(session, user=user, data_source_id=data_source_id, now=now)
    return RedirectResponse(back_to(next, done="paused"), status_code=303)


@router.post("/data-sources/{data_source_id}/resume")
async def resume(
    data_source_id: RowId, session: DbSession, user: PageUser, now: Now, next: Next = None
) -> Response:
    await actions.resume(session, user=user, data_source_id=data_source_id, now=now)
    return RedirectResponse(back_to(next, done="resumed"), status_code=303)


@router.post("/data-sources/{data_source_id}/sync")
async def sync_now(
    data_source_id: RowId, session: DbSession, user: PageUser, now: Now, next: Next = None
) -> Response:
    await actions.sync_now(session, user=user, data_source_id=data_source_id, now=now)
    return RedirectResponse(back_to(next, done="synced"), status_code=303)


@router.post("/data-sources/{data_source_id}/restore")
async def restore(
    data_source_id: RowId,
    session: DbSession,
    user: PageUser,
    jobs: Jobs,
    now: Now,
    next: Next = None,
) -> Response:
    source = await removal.restore(
        session,
        user=user,
        data_source_id=data_source_id,
        now=now,
        retention_days=jobs.settings.trash_retention_days,
    )
    fallback = f"/clients/{source.client_id}"
    return RedirectResponse(back_to(next, done="restored", fallback=fallback), status_code=303)
