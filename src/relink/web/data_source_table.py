"""The body of the staff's data-source table (data_sources/_table.html), written here.

The Data Sources page is the page agencies live on, and a page of it is 50 of these rows. In
Jinja each row cost about 45 µs: 26 values escaped and 40 attributes looked up through the
template runtime, a macro call for the status, a form per action. Written as one format string
per row it costs a fraction of that, and only text that comes from people or providers (names,
ids, reasons) is escaped; numbers, statuses and our own paths are ours. The table's frame
(caption, headers, the shared action form) stays in the template.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from urllib.parse import quote

from markupsafe import Markup, escape

from relink.providers.taxonomy import AuthKind
from relink.web.data_source_views import NO_DAY, NOT_YET, TableRow

# The shared action form of the page (_table.html) that every row menu's buttons post.
ACTION_FORM = "ds-row-actions"


def _action(source_id: int, action: str, words: str) -> str:
    return (
        f'<button type="submit" form="{ACTION_FORM}" formaction="/data-sources/{source_id}/'
        f'{action}" role="menuitem" class="menu-item">{words}</button>'
    )


def _menu(line: TableRow, client: Markup, account: Markup, back_q: Markup) -> str:
    """The row's ⋯ menu: what a person can do with the data source in its status."""
    source_id = line.row.source.id
    status = line.status
    if status == "removed":
        items = _action(source_id, "restore", "Restore")
    else:
        strong = " strong" if status == "disconnected" else ""
        items = (
            f'<a role="menuitem" class="menu-item{strong}" href="{line.reconnect}">Reconnect</a>'
        )
        if status in ("connected", "failing"):
            items += _action(source_id, "sync", "Sync now") + _action(source_id, "pause", "Pause")
        elif status == "paused":
            items += _action(source_id, "resume", "Resume")
        items += (
            f'<a role="menuitem" class="menu-item danger" '
            f'href="/data-sources/{source_id}/disconnect?next={back_q}">Disconnect…</a>'
        )
    return (
        '<td class="menu-cell" data-label="Actions"><details class="row-menu">'
        f'<summary aria-label="Actions for {client}: {line.label.escaped_name} {account}" '
        'aria-haspopup="menu" title="Actions">⋯</summary>'
        f'<div class="menu" role="menu" aria-label="Actions for {client}">{items}</div>'
        "</details></td>"
    )


def _status(line: TableRow) -> str:
    """The status and, below it, why."""
    text = f'<span class="status {line.status}">{line.status.capitalize()}</span>'
    if line.reason:
        day = line.reason_day.__html__() if line.reason_day else ""
        text += f'<span class="reason">{escape(line.reason)}{day}</span>'
    return text


def row_markup(
    line: TableRow,
    *,
    show_client: bool,
    auth_kinds: Mapping[AuthKind, Markup],
    back_q: Markup,
) -> str:
    """One ``<tr>`` of the staff's table (auth_kinds: the escaped words for each kind; back_q:
    this page's address, URL-encoded and escaped)."""
    row = line.row
    source = row.source
    client = escape(row.client_name)
    account = escape(source.external_account_name)
    cells = (
        f'<td class="head-cell" data-label="Client"><a class="client-link" '
        f'href="/clients/{source.client_id}">{client}</a></td>'
        if show_client
        else ""
    )
    provider_class = "" if show_client else 'class="head-cell" '
    gap = "gap" if line.gap else ""
    last_import = (line.last_import or NOT_YET).__html__()
    complete_through = (line.complete_through or NO_DAY).__html__()
    return (
        f'<tr class="ds-row st-{line.status}" data-id="{source.id}">{cells}'
        f'<td {provider_class}data-label="Provider">{line.label.__html__()}</td>'
        f'<td data-label="External account"><div class="stack"><span>{account}</span>'
        f'<span class="sub mono">{escape(source.external_account_id)}</span></div></td>'
        f'<td data-label="Grant"><div class="stack"><span class="identity">'
        f"{escape(row.identity_name or '—')}</span>"
        f'<span class="sub">{auth_kinds[row.auth_kind]}</span></div></td>'
        f'<td data-label="Status"><div class="stack">{_status(line)}</div></td>'
        f'<td data-label="Last import">{last_import}</td>'
        f'<td data-label="Data complete through"><span class="{gap}">{complete_through}</span>'
        f"</td>{_menu(line, client, account, back_q)}</tr>\n"
    )


def table_body(
    lines: Iterable[TableRow],
    *,
    show_client: bool,
    auth_kinds: Mapping[AuthKind, str],
    back_url: str,
) -> Markup:
    """Every row of the table, as markup the template prints as it is."""
    # As Jinja's urlencode filter writes it (only "/" kept), then escaped for the attribute.
    back_q = escape(quote(back_url, safe="/"))
    kinds = {kind: escape(words) for kind, words in auth_kinds.items()}
    body = "".join(
        row_markup(line, show_client=show_client, auth_kinds=kinds, back_q=back_q) for line in lines
    )
    # Every text from people or providers was escaped above; the rest is ours.
    return Markup(body)  # noqa: S704
