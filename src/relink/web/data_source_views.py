"""What every page that shows data-source rows shares: provider badges, the row context, and
where an action returns with its message."""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cached_property, lru_cache
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import Request
from markupsafe import Markup, escape

from relink.auth.access import is_staff_or_admin
from relink.data_sources.rows import Row
from relink.models import User
from relink.notifications.kinds import REASONS
from relink.notifications.repair import repair_path
from relink.providers.catalog import default_catalog
from relink.providers.taxonomy import AuthKind
from relink.status import DataSourceStatus
from relink.worker.context import JobContext

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
AUTH_KIND_LABELS = {
    AuthKind.OAUTH2: "OAuth sign-in",
    AuthKind.API_KEY: "API key",
    AuthKind.BASIC: "User name and password",
}
# Badge colours for providers' initials: readable white-on-colour, stable per provider.
BADGE_HUES = 8
# The pages an action may return to: list pages of this site only (no open redirect).
RETURN_PAGES = ("/data-sources", "/clients")


# What a table cell shows when there is no day, or no import yet.
NO_DAY = Markup('<span class="muted">—</span>')
NOT_YET = Markup('<span class="muted">Not yet</span>')


# The badge, days and moments print themselves (markupsafe's ``__html__``): a page of rows
# prints hundreds of them, and a template macro call costs far more than a method call.
@dataclass(frozen=True)
class ProviderLabel:
    key: str
    name: str
    initial: str
    hue: int

    def __html__(self) -> Markup:
        return self._html

    @cached_property
    def escaped_name(self) -> Markup:
        """The name, escaped once per provider (tables print it in every row's menu)."""
        return escape(self.name)

    @cached_property
    def _html(self) -> Markup:
        # Labels are made once per provider (provider_label), so is their markup.
        return Markup(
            '<span class="pv"><span class="pv-badge pv-h{}" aria-hidden="true">{}</span>'
            '<span class="pv-name">{}</span></span>'
        ).format(self.hue, self.initial, self.name)


@lru_cache(maxsize=256)
def provider_label(key: str) -> ProviderLabel:
    """The badge of a provider (the catalog is read once per process: one per key)."""
    name = default_catalog().display_name(key)
    return ProviderLabel(key, name, name[:1].upper(), zlib.crc32(key.encode()) % BADGE_HUES)


# Days and moments are made for many rows of a page: plain slotted dataclasses, since a frozen
# one sets each field through object.__setattr__. Nothing changes them once made.
@dataclass(slots=True)
class Day:
    """A day as the tables print it: "5 Mar", with the year when it is not this year's."""

    iso: str
    text: str

    def __html__(self) -> Markup:
        # Only day() makes these, from a date: digits, dashes, spaces and a month's
        # abbreviation, nothing to escape (a page prints a hundred of them).
        return Markup(f'<time datetime="{self.iso}">{self.text}</time>')  # noqa: S704


@dataclass(slots=True)
class Ago:
    """A moment as "3 h ago", its exact time in the title."""

    iso: str
    title: str
    text: str

    def __html__(self) -> Markup:
        # Only ago() makes these, from a datetime and a count: nothing to escape.
        return Markup(  # noqa: S704
            f'<time datetime="{self.iso}" title="{self.title}">{self.text}</time>'
        )


def shown_day(x: Day | None) -> Day | Markup:
    """A day, or a dash when there is none."""
    return x or NO_DAY


def shown_ago(x: Ago | None) -> Ago | Markup:
    """A moment, or "Not yet" when it never happened."""
    return x or NOT_YET


def reconnect_path(row: Row) -> str:
    """Reconnect: the grant's OAuth flow, or the data source's new key."""
    return repair_path(row.auth_kind, grant_id=row.source.grant_id, data_source_id=row.source.id)


def day(d: date | None, today: date) -> Day | None:
    """How pages print a day (None: nothing to print)."""
    if d is None:
        return None
    year = f" {d.year}" if d.year != today.year else ""
    return Day(d.isoformat(), f"{d.day} {d.strftime('%b')}{year}")


def ago(moment: datetime | None, now: datetime) -> Ago | None:
    """How pages print a past moment (None: it never happened)."""
    if moment is None:
        return None
    seconds = (now - moment).total_seconds()
    if seconds < 90:
        text = "just now"
    elif seconds < 3600:
        text = f"{int(seconds // 60)} min ago"
    elif seconds < 86400:
        text = f"{int(seconds // 3600)} h ago"
    elif seconds < 172800:
        text = "yesterday"
    else:
        text = f"{int(seconds // 86400)} days ago"
    return Ago(moment.isoformat(), moment.strftime("%d %b %Y, %H:%M UTC"), text)


def why(
    row: Row, *, reasons: Mapping[str, str], retention: timedelta, today: date
) -> tuple[str | None, Day | None]:
    """What a staff member reads under the status: the words, and the day they end with."""
    source = row.source
    code = source.status_reason.value if source.status_reason else ""
    if source.status is DataSourceStatus.DISCONNECTED:
        return source.status_detail or reasons.get(code, "It needs a person to reconnect it."), None
    if source.status is DataSourceStatus.FAILING:
        detail = source.status_detail or reasons.get(code, "the provider did not answer")
        return f"Retrying: {detail}", None
    if source.status is DataSourceStatus.PAUSED:
        paused = source.paused_at
        return ("Paused by a person on " if paused else "Paused by a person"), (
            day(paused.date(), today) if paused else None
        )
    if source.status is DataSourceStatus.REMOVED and source.removed_at:
        return "In the trash until ", day((source.removed_at + retention).date(), today)
    return None, None


def view_context(
    request: Request, user: User, jobs: JobContext, now: datetime, **extra: Any
) -> dict[str, Any]:
    """What every data-source table needs to render a row, whoever shows it."""
    done = request.query_params.get("done")
    return {
        "user": user,
        "staff": is_staff_or_admin(user),
        "now": now,
        "today": now.date(),
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
    if not target or not target.startswith(RETURN_PAGES) or "//" in target:
        target = fallback
    parts = urlsplit(target)
    kept = [(k, v) for k, v in parse_qsl(parts.query) if k != "done"]
    return f"{parts.path}?{urlencode([*kept, ('done', done)])}"
