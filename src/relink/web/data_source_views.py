"""What every page that shows data-source rows shares: provider badges, the row context, and
where an action returns with its message."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import Request

from relink.auth.access import is_staff_or_admin
from relink.models import User
from relink.notifications.kinds import REASONS
from relink.providers.catalog import default_catalog
from relink.providers.taxonomy import AuthKind
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


@dataclass(frozen=True)
class ProviderLabel:
    key: str
    name: str
    initial: str
    hue: int


def provider_label(key: str) -> ProviderLabel:
    name = default_catalog().display_name(key)
    return ProviderLabel(key, name, name[:1].upper(), zlib.crc32(key.encode()) % BADGE_HUES)


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
