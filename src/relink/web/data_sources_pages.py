"""The account-level Data Sources page, its row actions, API-key re-entry and Disconnect."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from relink.auth.access import is_staff_or_admin
from relink.clients import client_view, health
from relink.data_sources import actions, removal, rows
from relink.data_sources.credentials import KeyNotVerified, KeyRefused, reverify_api_key
from relink.data_sources.rows import Filters, Sort
from relink.data_sources.staff import require_staff
from relink.errors import InvalidInput
from relink.kit.row_ids import RowId
from relink.models import User
from relink.notifications.kinds import REASONS
from relink.providers.catalog import default_catalog
from relink.providers.taxonomy import AuthKind
from relink.status import DataSourceStatus
from relink.web.deps import DbSession, Jobs, OptionalUser
from relink.web.pages import login_redirect
from relink.web.templating import templates
from relink.worker.context import JobContext

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
# A bookmarked ?limit= larger than this is read as this, not refused.
MAX_PAGE_SIZE = 200
# The query parameters that make up "the list I was looking at"; links and redirects keep them.
LIST_PARAMS = ("status", "provider", "client", "auth", "q", "sort", "limit")
# What a finished action says on the page it returns to (a fixed text per code, so a crafted
# link cannot put words in Relink's mouth).
DONE = {
    "paused": "Paused. Relink stops importing it until you resume it.",
    "resumed": "Resumed. Relink imports it again and fills in the days it missed.",
    "synced": "Import started. Fresh data appears within a few minutes.",
    "not_started": "No import was started: this data source cannot import until the problem "
    "shown here is fixed.",
    "restored": "Restored from the trash with all of its data.",
    "disconnected": "Disconnected. Its data waits in the trash; Restore brings it back.",
    "key": "The new API key works: the data source is connected and missing days are "
    "being imported.",
    "connected": "Connected. Its history is being imported now; progress shows in the list.",
}
AUTH_KIND_LABELS = {AuthKind.OAUTH2: "OAuth sign-in", AuthKind.API_KEY: "API key",
                    AuthKind.BASIC: "User name and password"}  # fmt: skip
_STATUS_VALUES = frozenset(s.value for s in DataSourceStatus)
_AUTH_VALUES = frozenset(k.value for k in AuthKind)
# Badge colours for providers' initials: readable white-on-colour, stable per provider.
BADGE_HUES = 8


@dataclass(frozen=True)
class ProviderLabel:
    key: str
    name: str
    initial: str
    hue: int


def provider_label(key: str) -> ProviderLabel:
    name = default_catalog().display_name(key)
    return ProviderLabel(key, name, name[:1].upper(), zlib.crc32(key.encode()) % BADGE_HUES)


def view_context(request: Request, user: User, jobs: JobContext, **extra: Any) -> dict[str, Any]:
    """What every data-source table needs to render a row, whoever shows it."""
    done = request.query_params.get("done")
    return {
        "user": user,
        "staff": is_staff_or_admin(user),
        "now": jobs.now(),
        "today": jobs.now().date(),
        "provider_label": provider_label,
        "reasons": {k.value: v for k, v in REASONS.items()},
        "retention": timedelta(days=jobs.settings.trash_retention_days),
        "done": DONE.get(done or ""),
        "back_url": here(request),
        **extra,
    }


def here(request: Request) -> str:
    """This page's path and query without the one-shot ``done`` message: where actions return."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k != "done"]
    return request.url.path + (f"?{urlencode(kept)}" if kept else "")


def back_to(target: str | None, *, done: str, fallback: str = "/data-sources") -> str:
    """Same-site list pages only (no open redirect), with the message of what was done."""
    if not target or not target.startswith(("/data-sources", "/clients")) or "//" in target:
        target = fallback
    parts = urlsplit(target)
    kept = [(k, v) for k, v in parse_qsl(parts.query) if k != "done"]
    return f"{parts.path}?{urlencode([*kept, ('done', done)])}"


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
    session: DbSession,
    user: OptionalUser,
    jobs: Jobs,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = PAGE_SIZE,
) -> Response:
    if user is None:
        return login_redirect(request)
    if not is_staff_or_admin(user):
        # Client logins read how current their data is, never why (clients/client_view.py).
        own = await client_view.own_sources(session, user=user, today=jobs.now().date())
        context = view_context(request, user, jobs, sources=own)
        return templates.TemplateResponse(request, "data_sources/client_view.html", context)
    params = {k: v.strip() for k, v in request.query_params.items() if k in LIST_PARAMS}
    sort = Sort.STATUS if params.get("sort") == Sort.STATUS else Sort.CLIENT
    filters = _filters(params)
    page = await rows.list_rows(
        session, user=user, today=jobs.now().date(), filters=filters, sort=sort,
        limit=limit, cursor=cursor,
    )  # fmt: skip
    counts = await health.status_counts(session, user=user)
    providers = sorted((provider_label(s.key) for s in jobs.catalog), key=lambda p: p.name)
    context = view_context(
        request, user, jobs,
        rows=page.items, params=params, filters=filters, sort=sort.value,
        filtered=any(params.get(k) for k in ("status", "provider", "client", "auth", "q")),
        counts=counts, live=sum(n for s, n in counts.items() if s is not DataSourceStatus.REMOVED),
        broken=await health.broken_grants(session, user=user),
        clients=await health.client_choices(session, user=user),
        providers=providers, auth_kinds=AUTH_KIND_LABELS,
        statuses=sorted(DataSourceStatus, key=rows.STATUS_RANK.__getitem__),
        list_url=lambda **changes: list_url(params, **changes),
        next_url=list_url(params, cursor=page.next_cursor) if page.next_cursor else None,
        first_url=list_url(params) if cursor else None,
    )  # fmt: skip
    return templates.TemplateResponse(request, "data_sources/list.html", context)


Next = Annotated[str | None, Form()]


@router.post("/data-sources/{data_source_id}/pause")
async def pause(
    data_source_id: RowId, request: Request, session: DbSession, user: OptionalUser, jobs: Jobs,
    next: Next = None,
) -> Response:  # fmt: skip
    if user is None:
        return login_redirect(request)
    await actions.pause(session, user=user, data_source_id=data_source_id, now=jobs.now())
    return RedirectResponse(back_to(next, done="paused"), status_code=303)


@router.post("/data-sources/{data_source_id}/resume")
async def resume(
    data_source_id: RowId, request: Request, session: DbSession, user: OptionalUser, jobs: Jobs,
    next: Next = None,
) -> Response:  # fmt: skip
    if user is None:
        return login_redirect(request)
    await actions.resume(session, user=user, data_source_id=data_source_id, now=jobs.now())
    return RedirectResponse(back_to(next, done="resumed"), status_code=303)


@router.post("/data-sources/{data_source_id}/sync")
async def sync_now(
    data_source_id: RowId, request: Request, session: DbSession, user: OptionalUser, jobs: Jobs,
    next: Next = None,
) -> Response:  # fmt: skip
    if user is None:
        return login_redirect(request)
    await actions.sync_now(session, user=user, data_source_id=data_source_id, now=jobs.now())
    return RedirectResponse(back_to(next, done="synced"), status_code=303)


@router.post("/data-sources/{data_source_id}/restore")
async def restore(
    data_source_id: RowId, request: Request, session: DbSession, user: OptionalUser, jobs: Jobs,
    next: Next = None,
) -> Response:  # fmt: skip
    if user is None:
        return login_redirect(request)
    source = await removal.restore(
        session, user=user, data_source_id=data_source_id, now=jobs.now(),
        retention_days=jobs.settings.trash_retention_days,
    )  # fmt: skip
    fallback = f"/clients/{source.client_id}"
    return RedirectResponse(back_to(next, done="restored", fallback=fallback), status_code=303)


@router.get("/data-sources/{data_source_id}/credentials", response_class=HTMLResponse)
async def credentials_page(
    data_source_id: RowId, request: Request, session: DbSession, user: OptionalUser, jobs: Jobs
) -> Response:
    if user is None:
        return login_redirect(request)
    return await _credentials_form(request, session, user, jobs, data_source_id)


@router.post("/data-sources/{data_source_id}/credentials", response_class=HTMLResponse)
async def replace_key(
    data_source_id: RowId, request: Request, session: DbSession, user: OptionalUser, jobs: Jobs,
    api_key: Annotated[str, Form()] = "",
) -> Response:  # fmt: skip
    if user is None:
        return login_redirect(request)
    try:
        source = await reverify_api_key(
            session, ctx=jobs, user=user, data_source_id=data_source_id, raw_key=api_key,
            now=jobs.now(),
        )  # fmt: skip
    except KeyRefused as refused:
        # Nothing was saved: the old key keeps working until a good one replaces it.
        return await _credentials_form(
            request, session, user, jobs, data_source_id, refused=refused, status=422
        )
    except KeyNotVerified as unsure:
        return await _credentials_form(
            request, session, user, jobs, data_source_id, unsure=unsure.message, status=503
        )
    return RedirectResponse(f"/clients/{source.client_id}?done=key", status_code=303)


async def _credentials_form(
    request: Request, session: DbSession, user: User, jobs: JobContext, data_source_id: int,
    *, refused: KeyRefused | None = None, unsure: str | None = None, status: int = 200,
) -> Response:  # fmt: skip
    require_staff(user, "change a data source's API key")
    row = await rows.get_row(
        session, user=user, data_source_id=data_source_id, today=jobs.now().date()
    )
    spec = jobs.catalog.get(row.source.provider) if row.source.provider in jobs.catalog else None
    if row.auth_kind is not AuthKind.API_KEY or spec is None or spec.api_key is None:
        raise InvalidInput("this data source signs in with its provider, not a key: use Reconnect")
    context = view_context(
        request, user, jobs, row=row, label=provider_label(row.source.provider),
        format_hint=spec.api_key.format_hint, refused=refused, unsure=unsure,
    )  # fmt: skip
    return templates.TemplateResponse(
        request, "data_sources/credentials.html", context, status_code=status
    )


@router.get("/data-sources/{data_source_id}/disconnect", response_class=HTMLResponse)
async def disconnect_page(
    data_source_id: RowId, request: Request, session: DbSession, user: OptionalUser, jobs: Jobs,
    next: str | None = None,
) -> Response:  # fmt: skip
    if user is None:
        return login_redirect(request)
    return await _disconnect_form(request, session, user, jobs, data_source_id, next=next)


@router.post("/data-sources/{data_source_id}/disconnect", response_class=HTMLResponse)
async def disconnect(
    data_source_id: RowId, request: Request, session: DbSession, user: OptionalUser, jobs: Jobs,
    confirm: Annotated[str, Form()] = "", next: Next = None,
) -> Response:  # fmt: skip
    if user is None:
        return login_redirect(request)
    try:
        source = await removal.disconnect(
            session, ctx=jobs, user=user, data_source_id=data_source_id, confirm=confirm,
            now=jobs.now(),
        )  # fmt: skip
    except InvalidInput as wrong_name:
        return await _disconnect_form(
            request, session, user, jobs, data_source_id, next=next,
            error=wrong_name.message, typed=confirm, status=422,
        )  # fmt: skip
    # The client's page, whatever the form came from: its trash section holds the Restore.
    return RedirectResponse(f"/clients/{source.client_id}?done=disconnected#trash", status_code=303)


async def _disconnect_form(
    request: Request, session: DbSession, user: User, jobs: JobContext, data_source_id: int,
    *, next: str | None, error: str | None = None, typed: str = "", status: int = 200,
) -> Response:  # fmt: skip
    preview = await removal.removal_preview(
        session, user=user, data_source_id=data_source_id, now=jobs.now(),
        catalog=jobs.catalog, retention_days=jobs.settings.trash_retention_days,
    )  # fmt: skip
    row = await rows.get_row(
        session, user=user, data_source_id=data_source_id, today=jobs.now().date()
    )
    cancel = next if next and next.startswith(("/data-sources", "/clients")) else "/data-sources"
    context = view_context(
        request, user, jobs, preview=preview, row=row, error=error, typed=typed,
        next=cancel, label=provider_label(preview.provider),
    )  # fmt: skip
    return templates.TemplateResponse(
        request, "data_sources/disconnect.html", context, status_code=status
    )
