"""Read-side figures at agency scale: 1k, 10k and 100k data sources (ten per client) in one
database, grown in steps; at each size the Data Sources API and page for the admin and a staff
user limited to 50 clients; at the largest, the bell (unread-count polling and 500 SSE
streams). Every figure sits beside the reference endpoint (`/healthz`, no database) measured
in the same run under the same load. The app runs in its own process (bench/app_process.py).
"""

from __future__ import annotations

import secrets
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import app_process, live_figures, load, pages, seed
from relink import migrate
from relink.db import Database
from relink.kit.crypto import SecretBox, generate_key

SIZES = (1_000, 10_000, 100_000)
POLLERS = live_figures.POLLERS
SSE_USERS = 50


async def run(database_url: str, *, sizes: tuple[int, ...] = SIZES) -> dict[str, Any]:
    """Seed in steps and measure at each size; answers the figures (milliseconds)."""
    migrate.upgrade(database_url)
    secret_key = generate_key()
    session_secret = secrets.token_urlsafe(32)
    database = Database(database_url)
    figures: dict[str, Any] = {"sizes": {}}
    try:
        agency = await seed.create_agency(database, SecretBox([secret_key]))
        poller_ids = await seed.add_pollers(database, agency, count=POLLERS)
        cookie = {
            user_id: app_process.session_cookie(session_secret, token)
            for user_id, token in agency.tokens.items()
        }
        with tempfile.TemporaryDirectory() as var_dir:
            for size in sizes:
                started = time.perf_counter()
                await seed.grow(database, agency, data_sources=size)
                seeded = round(time.perf_counter() - started, 1)
                print(f"   {size:>7} data sources seeded in {seeded}s; measuring the pages")
                with app_process.serve_app(
                    database_url,
                    secret_key=secret_key,
                    session_secret=session_secret,
                    var_dir=Path(var_dir),
                ) as base:
                    at_size: dict[str, Any] = {"seed_seconds": seeded}
                    async with load.client() as http:
                        for role, user_id in (
                            ("admin", agency.admin_id),
                            ("staff_50", agency.staff_id),
                        ):
                            client_id, word = await seed.one_client(
                                database, agency, user_id=user_id
                            )
                            measured = await pages.measure(
                                http,
                                base,
                                cookie=cookie[user_id],
                                client_id=client_id,
                                client_word=word,
                            )
                            at_size[role] = {
                                "api": pages.worst(measured["api"]),
                                "html": pages.worst(measured["html"]),
                                "variants": measured,
                            }
                        if size == sizes[-1]:
                            print("   the bell: unread-count polling and SSE streams")
                            try:
                                at_size["unread"] = await live_figures.unread(
                                    http, base, [cookie[u] for u in poller_ids]
                                )
                            except RuntimeError as failed:
                                # An overloaded machine answers 500s: say so, keep the rest.
                                at_size["unread_failed"] = str(failed)
                            sse_users = poller_ids[:SSE_USERS]
                            unread_ids = await seed.unread_notification_ids(database, sse_users)
                            try:
                                at_size["sse"] = await live_figures.sse(
                                    http, base, {u: cookie[u] for u in sse_users}, unread_ids
                                )
                            except (RuntimeError, TimeoutError) as failed:
                                at_size["sse_failed"] = str(failed)
                    figures["sizes"][str(size)] = at_size
    finally:
        await database.dispose()
    figures["summary"] = summarize(figures["sizes"])
    return figures


def summarize(sizes: dict[str, Any]) -> dict[str, Any]:
    """The issue's table: each figure beside its target."""
    keys = sorted(sizes, key=int)
    small, large = sizes[keys[0]], sizes[keys[-1]]
    table: dict[str, Any] = {}
    for kind, target in (("api", 5), ("html", 10)):
        for role in ("admin", "staff_50"):
            at_large, at_small = large[role][kind], small[role][kind]
            table[f"{kind}_{role}"] = {
                "worst_ratio_to_reference": at_large["worst_ratio"],
                "target_ratio": f"<= {target}",
                "worst_p95_ms": at_large["p95_ms"],
                "growth_largest_over_smallest_p95": round(
                    at_large["p95_ms"] / max(at_small["p95_ms"], 0.001), 2
                ),
                "target_growth": "<= 2",
            }
    if "unread" in large:
        table["unread"] = {
            "ratio_p95": large["unread"]["ratio_p95"],
            "target_ratio": "<= 2",
            "throughput_ratio": large["unread"]["throughput_ratio"],
            "target_throughput_ratio": ">= 0.5",
        }
    if "sse" in large:
        table["sse"] = {"p95_ms": large["sse"]["p95_ms"], "target": "< 1000 ms"}
    return table
