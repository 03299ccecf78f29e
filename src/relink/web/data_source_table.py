"""The body of the staff's data-source table (data_sources/_table.html), written here, and
the status cell it shares with a data source's own page.

The Data Sources page is the page agencies live on, and a page of it is 50 of these rows. In
Jinja each row cost about 45 µs: 26 values escaped and 40 attributes looked up through the
template runtime, a macro call for the status, a form per action. Written as one format string
per row it costs a fraction of that, and only text that comes from people or providers (names,
ids, reasons) is escaped; numbers, statuses and our own paths are ours. The table's frame
(caption, headers, the shared action form) stays in the template.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from urllib.parse import quote

from markupsafe import Markup, escape

from relink.data_sources.rows import Row
from relink.providers.taxonomy import AuthKind
from relink.status import DataSourceStatus
from relink.web.data_source_views import (
    NO_DAY,
    NOT_YET,
    ago,
    day,
    provider_label,
    reconnect_path,
    shown_ago,
    shown_day,
    why,
)

# The shared action form of the page (_table.html) that every row menu's buttons post.
ACTION_FORM = "ds-row-actions"


def _action(source_id: int, action: str, words: str) -> str:
    return (
        f'<button type="submit" form="{ACTION_FORM}" formaction="/data-sources/{source_id}/'
        f'{action}" role="menuitem" class="menu-item">{words}</button>'
    )


def _menu(source_id: int, status: DataSourceStatus, reconnect: str, page: _Page) -> str:
    """The ⋯ menu's items: what a person can do with the data source in its status."""
    if status is DataSourceStatus.REMOVED:
        return _action(source_id, "restore", "Restore")
    strong = " strong" if status is DataSourceStatus.DISCONNECTED else ""
    items = f'<a role="menuitem" class="menu-item{strong}" href="{reconnect}">Reconnect</a>'
    if status in (DataSourceStatus.CONNECTED, DataSourceStatus.FAILING):
        items += _action(source_id, "sync", "Sync now") + _action(source_id, "pause", "Pause")
    elif status is DataSourceStatus.PAUSED:
        items += _action(source_id, "resume", "Resume")
    return items + (
        f'<a role="menuitem" class="menu-item danger" '
        f'href="/data-sources/{source_id}/disconnect?next={page.back_q}">Disconnect…</a>'
    )


# The status as staff read it, by status: the same few strings on every row.
_STATUS = {
    s: f'<span class="status {s.value}">{s.value.capitalize()}</span>' for s in DataSourceStatus
}
# Where "complete through" is drawn as a gap (data may be missing after it).
_GAP_SHOWN = (DataSourceStatus.DISCONNECTED, DataSourceStatus.FAILING)


def status_markup(
    row: Row, *, reasons: Mapping[str, str], retention: timedelta, today: date
) -> Markup:
    """The status as staff read it and, below it, why: a table's cell and a data source's
    own page."""
    state = _STATUS[row.source.status]
    if row.source.status is not DataSourceStatus.CONNECTED:
        reason, reason_day = why(row, reasons=reasons, retention=retention, today=today)
        if reason:
            until = reason_day.__html__() if reason_day else ""
            state += f'<span class="reason">{escape(reason)}{until}</span>'
    # The reason is escaped above; the rest is ours.
    return Markup(state)  # noqa: S704


class _Page:
    """What every row of one table shares, and the days and moments already written: a page's
    rows mostly share a "complete through" day, and a sweep's imports their moment."""

    __slots__ = (
        "back_q",
        "days",
        "kinds",
        "moments",
        "now",
        "reasons",
        "retention",
        "show_client",
        "today",
    )

    def __init__(
        self,
        *,
        now: datetime,
        reasons: Mapping[str, str],
        retention: timedelta,
        show_client: bool,
        auth_kinds: Mapping[AuthKind, str],
        back_url: str,
    ) -> None:
        self.now, self.today = now, now.date()
        self.reasons, self.retention, self.show_client = reasons, retention, show_client
        self.kinds = {kind: escape(words) for kind, words in auth_kinds.items()}
        # As Jinja's urlencode filter writes it (only "/" kept), then escaped for the attribute.
        self.back_q = escape(quote(back_url, safe="/"))
        self.days: dict[date | None, str] = {None: NO_DAY}
        self.moments: dict[datetime | None, str] = {None: NOT_YET}

    def day(self, d: date | None) -> str:
        written = self.days.get(d)
        if written is None:
            written = self.days[d] = shown_day(day(d, self.today)).__html__()
        return written

    def moment(self, at: datetime | None) -> str:
        written = self.moments.get(at)
        if written is None:
            written = self.moments[at] = shown_ago(ago(at, self.now)).__html__()
        return written


def row_markup(row: Row, page: _Page) -> str:
    """One ``<tr>`` of the staff's table."""
    source = row.source
    status = source.status
    source_id = source.id
    client = escape(row.client_name)
    account = escape(source.external_account_name)
    label = provider_label(source.provider)
    if page.show_client:
        first = (
            f'<td class="head-cell" data-label="Client"><a class="client-link" '
            f'href="/clients/{source.client_id}">{client}</a></td><td data-label="Provider">'
        )
    else:
        first = '<td class="head-cell" data-label="Provider">'
    state = status_markup(row, reasons=page.reasons, retention=page.retention, today=page.today)
    gap = "gap" if row.missing_since and status in _GAP_SHOWN else ""
    return (
        f'<tr class="ds-row st-{status.value}" data-id="{source_id}">{first}{label.__html__()}</td>'
        f'<td data-label="External account"><div class="stack"><span>{account}</span>'
        f'<span class="sub mono">{escape(source.external_account_id)}</span></div></td>'
        f'<td data-label="Grant"><div class="stack"><span class="identity">'
        f"{escape(row.identity_name or '—')}</span>"
        f'<span class="sub">{page.kinds[row.auth_kind]}</span></div></td>'
        f'<td data-label="Status"><div class="stack">{state}</div></td>'
        f'<td data-label="Last import">{page.moment(source.last_ok_at)}</td>'
        f'<td data-label="Data complete through"><span class="{gap}">'
        f"{page.day(row.complete_through)}</span></td>"
        '<td class="menu-cell" data-label="Actions"><details class="row-menu">'
        f'<summary aria-label="Actions for {client}: {label.escaped_name} {account}" '
        'aria-haspopup="menu" title="Actions">⋯</summary>'
        f'<div class="menu" role="menu" aria-label="Actions for {client}">'
        f"{_menu(source_id, status, reconnect_path(row), page)}</div></details></td></tr>\n"
    )


def table_body(
    rows: Iterable[Row],
    *,
    now: datetime,
    reasons: Mapping[str, str],
    retention: timedelta,
    show_client: bool,
    auth_kinds: Mapping[AuthKind, str],
    back_url: str,
) -> Markup:
    """Every row of the table, as markup the template prints as it is."""
    page = _Page(
        now=now,
        reasons=reasons,
        retention=retention,
        show_client=show_client,
        auth_kinds=auth_kinds,
        back_url=back_url,
    )
    body = "".join([row_markup(row, page) for row in rows])
    # Every text from people or providers was escaped above; the rest is ours.
    return Markup(body)  # noqa: S704
