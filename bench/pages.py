"""Data Sources figures as its users meet them: the JSON API and the HTML page, each sort,
filter and kind of search, the second and later pages by cursor, for each role (an admin, a
staff user with every client, one limited to 50 clients; a client's own login on its pages),
each beside the reference endpoint.

A case is what one user does, and where users' requests differ the case does too: its
requests cycle through up to ``DISTINCT`` values (15 client numbers, 15 words, the cursors of
pages 2 to 16), one per request. A statement then meets the planner with each value as a
user's would; timing one cursor or one word 48 times after 48 untimed requests measured a plan
PostgreSQL had long settled on (the limited staff's later pages read 21.8 x /healthz from
outside, 1.8 x in that bench).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp

from bench import load

# One user per measurement, as the figures were taken from outside: one request to
# warm (load.WARM_ROUNDS), then 15 timed, each beside a request of the reference.
WORKERS = 1
ROUNDS = 15
# Passes over every case, one after another; a case's figures pool its passes. A p95 of one
# pass's 15 requests is its second-slowest request: one passing stall on this shared machine
# decides it. Three passes, minutes apart, give a p95 of 45 requests, and a stall lands in
# one pass of a case, not all of them; each pass's own ratio is kept beside the pooled one.
PASSES = 3
# Different values a case cycles through (searches typed, pages reached).
DISTINCT = 15
# The page's words (bench/seed.py), one search each: a word in every 18th client's name.
WORDS = (
    "dental",
    "bakery",
    "law",
    "fitness",
    "garden",
    "motors",
    "realty",
    "clinic",
    "coffee",
    "studio",
    "travel",
    "plumbing",
    "salon",
    "books",
    "pets",
)
# Two letters: too short for a trigram index, matched while reading the page's order.
SHORT = ("de", "ba", "la", "fi", "ga", "mo", "re", "cl", "co", "st", "tr", "pl", "sa", "bo", "pe")
# The start of an account number (``Account 12``): about 1% of the accounts at 100k, the
# ones numbered 12, 120-129, 1200-1299, ... (late in the client order: see bench/seed.py).
ACCOUNTS = tuple(f"account {k}" for k in range(11, 11 + DISTINCT))
NOTHING = tuple(f"zzq{k}x" for k in range(DISTINCT))


@dataclass(frozen=True)
class Case:
    """The query strings of one case's requests, in the API's names, each naming its sort (the
    page and the API start from different ones)."""

    params: tuple[dict[str, str], ...]

    @classmethod
    def of(cls, *params: dict[str, str]) -> Case:
        return cls(tuple(params))


def filters(*, client_id: int) -> dict[str, Case]:
    """Each sort and filter of the first page."""
    return {
        "sort_status": Case.of({"sort": "status"}),
        "sort_client": Case.of({"sort": "client"}),
        "status_failing": Case.of({"status": "failing", "sort": "status"}),
        "status_failing_by_client": Case.of({"status": "failing", "sort": "client"}),
        "trash": Case.of({"status": "removed", "sort": "status"}),
        "provider_absent": Case.of({"provider": "sandbox_api", "sort": "client"}),
        "auth_api_key": Case.of({"auth_kind": "api_key", "sort": "status"}),
        "one_client": Case.of({"client_id": str(client_id), "sort": "client"}),
    }


def searches(*, client_words: Sequence[str]) -> dict[str, Case]:
    """Each kind of search text: a client's number, a common word, an account number's
    start, two letters, and a text nothing matches."""

    def each(texts: Sequence[str], **more: str) -> Case:
        return Case(tuple({"q": text, **more} for text in texts[:DISTINCT]))

    return {
        "search_client": each(client_words, sort="status"),
        "search_word": each(WORDS, sort="status"),
        "search_word_by_client": each(WORDS, sort="client"),
        "search_account": each(ACCOUNTS, sort="status"),
        "search_account_by_client": each(ACCOUNTS, sort="client"),
        "search_short": each(SHORT, sort="status"),
        "search_nothing": each(NOTHING, sort="client"),
    }


async def pages_by_cursor(http: aiohttp.ClientSession, base: str, cookie: str) -> dict[str, Case]:
    """The second and later pages: followed by their next cursors in each order, gone back
    to by their previous cursors, and a search's second page."""
    by_status = await _walk(http, base, cookie, {"sort": "status"})
    by_client = await _walk(http, base, cookie, {"sort": "client"})
    cases = {
        "next_pages_by_status": Case(tuple(c for c, _ in by_status)),
        "next_pages_by_client": Case(tuple(c for c, _ in by_client)),
        "previous_pages": Case(tuple(p for _, p in by_status[1:] if p is not None)),
    }
    second = []
    for word in WORDS:
        walked = await _walk(http, base, cookie, {"q": word, "sort": "status"}, pages=1)
        second += [cursor for cursor, _ in walked]
    cases["search_next_page"] = Case(tuple(second))
    return {name: case for name, case in cases.items() if case.params}


async def _walk(
    http: aiohttp.ClientSession,
    base: str,
    cookie: str,
    params: dict[str, str],
    *,
    pages: int = DISTINCT,
) -> list[tuple[dict[str, str], dict[str, str] | None]]:
    """Pages 2, 3, ... of a listing: each page's query (its cursor), and that of the page
    before it reached by its previous cursor."""
    found: list[tuple[dict[str, str], dict[str, str] | None]] = []
    cursor: str | None = None
    for _ in range(pages + 1):
        query = {**params, "cursor": cursor} if cursor else params
        async with http.get(
            f"{base}/api/data-sources?{urlencode(query)}", headers={"Cookie": cookie}
        ) as answer:
            body = await answer.json()
        if cursor:
            previous = body.get("prev_cursor")
            found.append((query, {**params, "cursor": previous} if previous else None))
        cursor = body.get("next_cursor")
        if not cursor:
            break
    return found


def _html_params(params: dict[str, str]) -> dict[str, str]:
    """The page names two filters differently from the API."""
    renamed = {"client_id": "client", "auth_kind": "auth"}
    return {renamed.get(k, k): v for k, v in params.items()}


# The public API's lists (issue 24) a script holding a token reads, beside the data sources.
V1_LISTS = {
    "clients": "/api/v1/clients",
    "grants": "/api/v1/grants",
    "incidents": "/api/v1/incidents",
    "events": "/api/v1/events",
    "notifications": "/api/v1/notifications",
}
# The admin's only.
V1_ADMIN_LISTS = {"users": "/api/v1/users"}
# What a client's own login may list.
V1_CLIENT_LISTS = {"clients": "/api/v1/clients", "notifications": "/api/v1/notifications"}
# Where a bearer token and a session cookie are set side by side.
BEARER_PATH = "/api/v1/data-sources?sort=status"


async def staff(
    http: aiohttp.ClientSession,
    base: str,
    *,
    cookie: str,
    bearer: str,
    admin: bool,
    client_id: int,
    client_words: Sequence[str],
) -> dict[str, Any]:
    """{kind: {case: figures}} for one staff user or admin: the Data Sources API ("api") and
    page ("html") with the session cookie, the same listings under /api/v1 with a bearer
    token ("v1"), the public API's other lists ("v1_lists"), and the bearer token's cost over
    the cookie's on one listing ("bearer_over_cookie", the cookie's request as reference)."""
    cases = {
        **filters(client_id=client_id),
        **searches(client_words=client_words),
        **await pages_by_cursor(http, base, cookie),
    }
    lists = {**V1_LISTS, **(V1_ADMIN_LISTS if admin else {})}
    lists["sync_runs"] = (
        f"/api/v1/data-sources/{await _a_data_source(http, base, cookie)}/sync-runs"
    )
    paths = {
        "api": {
            name: [f"/api/data-sources?{urlencode(p)}" for p in case.params]
            for name, case in cases.items()
        },
        "html": {
            name: [f"/data-sources?{urlencode(_html_params(p))}" for p in case.params]
            for name, case in cases.items()
        },
        "v1": {
            name: [f"/api/v1/data-sources?{urlencode(p)}" for p in case.params]
            for name, case in cases.items()
        },
        "v1_lists": {name: [path] for name, path in lists.items()},
    }
    token = {"Authorization": f"Bearer {bearer}"}
    figures = await _measure(
        http, base, cookie=cookie, paths=paths, who={"v1": token, "v1_lists": token}
    )
    figures["bearer_over_cookie"] = {
        "data_sources": await _side_by_side(http, base, target=token, reference=cookie)
    }
    return figures


async def client_login(
    http: aiohttp.ClientSession, base: str, *, cookie: str, bearer: str, client_id: int
) -> dict[str, Any]:
    """{kind: {case: figures}} for a client's own login: its clients list and its client's
    page (the Data Sources page and API are staff's), and what it may list under /api/v1."""
    paths = {
        "html": {"own_clients": ["/clients"], "own_client": [f"/clients/{client_id}"]},
        "v1_lists": {name: [path] for name, path in V1_CLIENT_LISTS.items()},
    }
    token = {"Authorization": f"Bearer {bearer}"}
    return await _measure(http, base, cookie=cookie, paths=paths, who={"v1_lists": token})


async def _a_data_source(http: aiohttp.ClientSession, base: str, cookie: str) -> int:
    """The id of the first data source the user sees."""
    async with http.get(f"{base}/api/data-sources", headers={"Cookie": cookie}) as answer:
        body = await answer.json()
    return int(body["items"][0]["id"])


async def _side_by_side(
    http: aiohttp.ClientSession,
    base: str,
    *,
    target: load.Credential,
    reference: load.Credential,
) -> dict[str, Any]:
    """One listing asked with ``target`` and ``reference`` in turn, over PASSES passes."""
    taken = [
        await load.alternated(
            http, base, BEARER_PATH, target=target, reference=reference, rounds=ROUNDS
        )
        for _ in range(PASSES)
    ]
    pooled = load.Paired.pooled(taken).figures()
    return {
        **pooled,
        "ratio_p50": round(pooled["p50_ms"] / max(pooled["reference_p50_ms"], 0.001), 2),
        "distinct_requests": 1,
        "ratio_p95_by_pass": [one.figures()["ratio_p95"] for one in taken],
    }


async def _measure(
    http: aiohttp.ClientSession,
    base: str,
    *,
    cookie: str,
    paths: dict[str, dict[str, list[str]]],
    who: dict[str, load.Credential] | None = None,
) -> dict[str, Any]:
    """Each case of ``paths`` beside the reference, asked with the session ``cookie`` or
    with what ``who`` names for its kind."""
    passes: dict[tuple[str, str], list[load.Paired]] = {}
    for _ in range(PASSES):
        for kind, named in paths.items():
            caller = (who or {}).get(kind, cookie)
            for name, each in named.items():
                one = await load.paired(
                    http, base, each, cookie=caller, workers=WORKERS, rounds=ROUNDS
                )
                passes.setdefault((kind, name), []).append(one)
    figures: dict[str, Any] = {kind: {} for kind in paths}
    for (kind, name), taken in passes.items():
        figures[kind][name] = {
            **load.Paired.pooled(taken).figures(),
            "distinct_requests": len(paths[kind][name]),
            "ratio_p95_by_pass": [one.figures()["ratio_p95"] for one in taken],
        }
    return figures


def worst(figures: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The slowest case by p95, named, with its ratio to the reference."""
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
