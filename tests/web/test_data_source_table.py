"""The staff's data-source rows, written in Python (web/data_source_table.py): what people and
providers typed is escaped, and every status gets its own menu."""

from __future__ import annotations

from datetime import timedelta
from html.parser import HTMLParser

import pytest

from relink.data_sources.rows import Row
from relink.status import DataSourceStatus
from relink.web.data_source_table import table_body
from relink.web.data_source_views import AUTH_KIND_LABELS
from tests.fixtures.source_rows import NOW, source_row

HOSTILE = "<script>alert('x')</script> & \"Sons\""


def _body(*rows: Row, show_client: bool = True, back_url: str = "/data-sources") -> str:
    return str(
        table_body(
            rows,
            now=NOW,
            reasons={},
            retention=timedelta(days=30),
            show_client=show_client,
            auth_kinds=AUTH_KIND_LABELS,
            back_url=back_url,
        )
    )


class _Cells(HTMLParser):
    """The text of each cell, the attributes of each element, as a browser would read them."""

    def __init__(self, markup: str) -> None:
        super().__init__()
        self.texts: list[str] = []
        self.attrs: list[dict[str, str | None]] = []
        self.feed(markup)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.attrs.append({"tag": tag, **dict(attrs)})

    def handle_data(self, data: str) -> None:
        self.texts.append(data)


def test_names_people_typed_are_text_not_markup() -> None:
    markup = _body(source_row(DataSourceStatus.FAILING, text=HOSTILE, detail=HOSTILE))

    assert "<script>" not in markup
    cells = _Cells(markup)
    for shown in (f"client {HOSTILE}", f"account {HOSTILE}", f"id {HOSTILE}", f"login {HOSTILE}"):
        assert shown in cells.texts
    assert f"Retrying: {HOSTILE}" in "".join(cells.texts)
    summary = next(a for a in cells.attrs if a["tag"] == "summary")
    assert summary["aria-label"] == f"Actions for client {HOSTILE}: Google Ads account {HOSTILE}"


def test_the_return_address_is_encoded_into_the_disconnect_link() -> None:
    markup = _body(source_row(DataSourceStatus.CONNECTED), back_url='/data-sources?q=a&b"<')

    link = next(a for a in _Cells(markup).attrs if "/disconnect" in (a.get("href") or ""))
    assert link["href"] == "/data-sources/7/disconnect?next=/data-sources%3Fq%3Da%26b%22%3C"


@pytest.mark.parametrize(
    ("status", "actions"),
    [
        (DataSourceStatus.CONNECTED, ["Reconnect", "sync", "pause", "Disconnect…"]),
        (DataSourceStatus.FAILING, ["Reconnect", "sync", "pause", "Disconnect…"]),
        (DataSourceStatus.DISCONNECTED, ["Reconnect", "Disconnect…"]),
        (DataSourceStatus.PAUSED, ["Reconnect", "resume", "Disconnect…"]),
        (DataSourceStatus.REMOVED, ["restore"]),
    ],
)
def test_each_status_offers_its_own_actions(status: DataSourceStatus, actions: list[str]) -> None:
    cells = _Cells(_body(source_row(status)))

    offered = []
    for element in cells.attrs:
        if element.get("role") != "menuitem":
            continue
        if element["tag"] == "button":
            assert element["form"] == "ds-row-actions"
            offered.append(str(element["formaction"]).rsplit("/", 1)[1])
        else:
            href = str(element["href"])
            offered.append("Disconnect…" if "/disconnect" in href else "Reconnect")
    assert offered == actions


def test_without_the_client_column_the_provider_heads_thesource_row() -> None:
    cells = _Cells(_body(source_row(DataSourceStatus.CONNECTED), show_client=False))

    assert not any(a.get("class") == "client-link" for a in cells.attrs)
    first_cell = next(a for a in cells.attrs if a["tag"] == "td")
    assert first_cell == {"tag": "td", "class": "head-cell", "data-label": "Provider"}


def test_a_failing_source_shows_its_gap_and_when_it_last_imported() -> None:
    markup = _body(source_row(DataSourceStatus.FAILING, detail="the provider timed out"))

    assert '<span class="gap"><time datetime="2026-11-28">28 Nov</time></span>' in markup
    assert '<time datetime="2026-11-30T09:00:00+00:00"' in markup
    assert ">3 h ago</time>" in markup
    assert "Retrying: the provider timed out" in markup


def test_rows_sharing_a_day_each_print_it() -> None:
    markup = _body(source_row(DataSourceStatus.CONNECTED), source_row(DataSourceStatus.PAUSED))

    # Both are complete through the 28th, and the second was paused that day.
    assert markup.count('<time datetime="2026-11-28">28 Nov</time>') == 3
    assert 'Paused by a person on <time datetime="2026-11-28">' in markup
    assert '<span class="gap">' not in markup
