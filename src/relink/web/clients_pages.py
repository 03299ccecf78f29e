"""The clients pages: the list with a health summary, and one client's data, gaps and history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from relink.auth.access import is_staff_or_admin
from relink.clients import client_view, health
from relink.clients.service import get_client
from relink.data_sources.rows import Row
from relink.dependencies import DbSession, Jobs, Now, PageUser
from relink.grants.backfill import Progress, progress_of
from relink.kit.row_ids import RowId
from relink.notifications import kinds
from relink.status import DataSourceStatus
from relink.web.data_source_views import AUTH_KIND_LABELS, provider_label, view_context
from relink.web.templating import templates

router = APIRouter(include_in_schema=False)

# A bar a few minutes long would be invisible on a 90-day axis; this keeps it a visible sliver.
MIN_BAR_PERCENT = 0.8


@dataclass(frozen=True)
class Bar:
    """One incident placed on the timeline's axis, in percent of its width."""

    kind: str
    label: str
    provider: str
    accounts: tuple[str, ...]
    opened_at: datetime
    resolved_at: datetime | None
    left: float
    width: float
    detail: str | None


@dataclass(frozen=True)
class Tick:
    left: float
    label: str


@dataclass(frozen=True)
class Gap:
    """A 'data may be incomplete' banner: which source, since when, and the fix."""

    row: Row
    since: date


def timeline_bars(items: list[health.TimelineItem], *, now: datetime) -> list[Bar]:
    start = now - timedelta(days=health.TIMELINE_DAYS)
    span = (now - start).total_seconds()
    bars: list[Bar] = []
    for item in items:
        incident = item.incident
        begin = max(incident.opened_at, start)
        end = min(incident.resolved_at or now, now)
        left = min((begin - start).total_seconds() / span * 100, 100 - MIN_BAR_PERCENT)
        width = max((end - begin).total_seconds() / span * 100, MIN_BAR_PERCENT)
        bars.append(
            Bar(
                kind=incident.kind,
                label=kinds.label_of(incident.kind),
                provider=provider_label(incident.provider).name,
                accounts=item.account_names,
                opened_at=incident.opened_at,
                resolved_at=incident.resolved_at,
                left=round(left, 2),
                width=round(min(width, 100 - left), 2),
                detail=incident.hint or incident.detail,
            )
        )
    return bars


def month_ticks(*, now: datetime) -> list[Tick]:
    """The first of each month inside the window, placed on the axis."""
    start = now - timedelta(days=health.TIMELINE_DAYS)
    span = (now - start).total_seconds()
    ticks: list[Tick] = []
    day = date(start.year, start.month, 1)
    while True:
        day = date(day.year + day.month // 12, day.month % 12 + 1, 1)
        at = datetime(day.year, day.month, day.day, tzinfo=now.tzinfo)
        if at >= now:
            return ticks
        ticks.append(Tick(round((at - start).total_seconds() / span * 100, 2), day.strftime("%b")))


def gaps_of(rows: list[Row]) -> list[Gap]:
    """Sources that are down with days missing: the reports admit to the hole."""
    down = (DataSourceStatus.DISCONNECTED, DataSourceStatus.FAILING)
    return [
        Gap(r, r.missing_since)
        for r in rows
        if r.source.status in down and r.missing_since is not None
    ]


def backfills_of(rows: list[Row], *, today: date) -> list[tuple[Row, Progress]]:
    running: list[tuple[Row, Progress]] = []
    for row in rows:
        progress = progress_of(row.source, client_name=row.client_name, today=today)
        if progress is not None and not progress.done:
            running.append((row, progress))
    return running


@router.get("/clients", response_class=HTMLResponse)
async def clients_page(
    request: Request,
    session: DbSession,
    user: PageUser,
    jobs: Jobs,
    now: Now,
    q: str | None = None,
) -> Response:
    if not is_staff_or_admin(user):
        # A client login's own view: how current its data is, never why (DESIGN.md).
        own = await client_view.own_clients(session, user=user, q=q)
        context = view_context(request, user, jobs, now, clients=own)
        return templates.TemplateResponse(request, "clients/own_list.html", context)
    summaries = await health.client_summaries(session, user=user, q=q)
    context = view_context(
        request,
        user,
        jobs,
        now,
        clients=summaries,
        q=(q or "").strip(),
        limit=health.CLIENT_LIST_LIMIT,
    )
    return templates.TemplateResponse(request, "clients/list.html", context)


@router.get("/clients/{client_id}", response_class=HTMLResponse)
async def client_page(
    client_id: RowId, request: Request, session: DbSession, user: PageUser, jobs: Jobs, now: Now
) -> Response:
    client = await get_client(session, user=user, client_id=client_id)
    if not is_staff_or_admin(user):
        # A client login sees whether its data is current: no status, reason, grant or history.
        own = await client_view.own_sources(
            session, user=user, today=now.date(), client_id=client.id
        )
        context = view_context(request, user, jobs, now, client=client, sources=own)
        return templates.TemplateResponse(request, "clients/own_detail.html", context)
    rows = await health.client_rows(session, user=user, client_id=client.id, include_removed=True)
    live = [r for r in rows if r.source.status is not DataSourceStatus.REMOVED]
    items = await health.timeline(session, user=user, client_id=client.id, now=now)
    context = view_context(
        request,
        user,
        jobs,
        now,
        client=client,
        rows=live,
        trash=[r for r in rows if r.source.status is DataSourceStatus.REMOVED],
        gaps=gaps_of(live),
        backfills=backfills_of(live, today=now.date()),
        bars=timeline_bars(items, now=now),
        ticks=month_ticks(now=now),
        window_start=(now - timedelta(days=health.TIMELINE_DAYS)).date(),
        timeline_days=health.TIMELINE_DAYS,
        auth_kinds=AUTH_KIND_LABELS,
    )
    return templates.TemplateResponse(request, "clients/detail.html", context)
