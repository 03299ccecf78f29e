"""Data Sources figures: the JSON API and the HTML page, every sort, filter and search, as the
admin and as a staff user limited to 50 clients, each beside the reference endpoint."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import aiohttp

from bench import load

# Concurrent users per measurement, and requests per user (each paired with the reference).
WORKERS = 4
ROUNDS = 12
# Passes over every variant, one after another; a variant's figures pool its passes. A p95 of
# one pass's 48 requests is its third-slowest request: one passing stall on this shared
# machine decided it. Three passes, minutes apart, give a p95 of 144 requests, and a stall
# lands in one pass of a variant, not all of them.
PASSES = 3


def variants(*, client_id: int, client_word: str) -> dict[str, dict[str, str]]:
    """Every sort, filter and search of the page, as API query parameters."""
    return {
        "sort_status": {"sort": "status"},
        "sort_client": {"sort": "client"},
        "status_failing": {"status": "failing", "sort": "status"},
        "status_failing_by_client": {"status": "failing", "sort": "client"},
        "trash": {"status": "removed"},
        "provider_absent": {"provider": "sandbox_api", "sort": "client"},
        "auth_api_key": {"auth_kind": "api_key", "sort": "status"},
        "one_client": {"client_id": str(client_id), "sort": "client"},
        "search_client_number": {"q": client_word, "sort": "client"},
        "search_word": {"q": "dental", "sort": "status"},
        "search_nothing": {"q": "zzqx", "sort": "client"},
    }


def _html_params(params: dict[str, str]) -> dict[str, str]:
    """The page names two filters differently from the API."""
    renamed = {"client_id": "client", "auth_kind": "auth"}
    return {renamed.get(k, k): v for k, v in params.items()}


async def _cursors(
    http: aiohttp.ClientSession, base: str, cookie: str
) -> tuple[str | None, str | None]:
    """A next-page cursor of the client sort, and the previous-page cursor of that page."""
    headers = {"Cookie": cookie}
    async with http.get(f"{base}/api/data-sources?sort=client", headers=headers) as answer:
        first = await answer.json()
    following = first.get("next_cursor")
    if not following:
        return None, None
    url = f"{base}/api/data-sources?{urlencode({'sort': 'client', 'cursor': following})}"
    async with http.get(url, headers=headers) as answer:
        second = await answer.json()
    return following, second.get("prev_cursor")


async def measure(
    http: aiohttp.ClientSession,
    base: str,
    *,
    cookie: str,
    client_id: int,
    client_word: str,
) -> dict[str, Any]:
    """{"api": {variant: figures}, "html": {variant: figures}} for one user."""
    cases = variants(client_id=client_id, client_word=client_word)
    following, previous = await _cursors(http, base, cookie)
    if following:
        cases["next_page"] = {"sort": "client", "cursor": following}
    if previous:
        cases["previous_page"] = {"sort": "client", "cursor": previous}
    paths = {
        "api": {name: f"/api/data-sources?{urlencode(p)}" for name, p in cases.items()},
        "html": {name: f"/data-sources?{urlencode(_html_params(p))}" for name, p in cases.items()},
    }
    passes: dict[tuple[str, str], list[load.Paired]] = {}
    for _ in range(PASSES):
        for name in cases:
            for kind in ("api", "html"):
                one = await load.paired(
                    http, base, paths[kind][name], cookie=cookie, workers=WORKERS, rounds=ROUNDS
                )
                passes.setdefault((kind, name), []).append(one)
    figures: dict[str, Any] = {"api": {}, "html": {}}
    for (kind, name), taken in passes.items():
        figures[kind][name] = {
            **load.Paired.pooled(taken).figures(),
            "ratio_p95_by_pass": [one.figures()["ratio_p95"] for one in taken],
        }
    return figures


def worst(figures: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The slowest variant by p95, named, with its ratio to the reference."""
    name, slowest = max(figures.items(), key=lambda item: item[1]["p95_ms"])
    ratio_name, by_ratio = max(figures.items(), key=lambda item: item[1]["ratio_p95"])
    return {
        "slowest": name,
        "p50_ms": slowest["p50_ms"],
        "p95_ms": slowest["p95_ms"],
        "worst_ratio": by_ratio["ratio_p95"],
        "worst_ratio_variant": ratio_name,
        "reference_p95_ms": by_ratio["reference_p95_ms"],
    }
