"""Registering our receivers with the sandbox at start-up, as one registers with Google's RISC
stream configuration or sets a Deauthorize Callback URL in a Meta app's dashboard.

Real providers are registered once, by hand, in their consoles (see the catalog's sources);
the sandbox forgets receivers when it restarts, so Relink registers on every start. The
sandbox may start after Relink (or be down): a few tries, then a log line, never a crash.
"""

from __future__ import annotations

import asyncio

import aiohttp
import structlog

from relink.providers.http import NoAnswer
from relink.signals.risc import known_event_types
from relink.worker.context import JobContext

log = structlog.get_logger(__name__)

PUSH = "https://schemas.openid.net/secevent/risc/delivery-method/push"
ATTEMPTS = 40
# The sandbox started beside us is up within a moment: ask again soon, then less often (about
# a minute and a quarter in all), so a revocation right after start-up is not missed.
FIRST_PAUSE_SECONDS = 0.1
MAX_PAUSE_SECONDS = 2.0
SANDBOX = "sandbox"


async def register_with_sandbox(ctx: JobContext) -> bool:
    """Register the SET receiver and the deauthorize callback; True once the sandbox took both."""
    settings = ctx.settings
    client = settings.oauth_client(SANDBOX)
    if not settings.signals_enabled or SANDBOX not in ctx.catalog or client is None:
        return False
    sandbox = settings.effective_sandbox_url.rstrip("/")
    base = settings.effective_base_url
    secret = client.client_secret.get_secret_value()
    headers = {"Authorization": aiohttp.encode_basic_auth(client.client_id, secret)}
    calls = (
        (
            f"{sandbox}/risc/stream:update",
            {
                "delivery": {"delivery_method": PUSH, "url": f"{base}/signals/risc"},
                "events_requested": list(known_event_types()),
            },
        ),
        (
            f"{sandbox}/apps/deauthorize-callback",
            {"url": f"{base}/signals/meta/{SANDBOX}/deauthorize"},
        ),
    )
    for attempt in range(ATTEMPTS):
        try:
            answers = [
                await ctx.http.request("POST", url, headers=headers, json=body)
                for url, body in calls
            ]
        except NoAnswer:
            answers = []
        if answers and all(a.ok for a in answers):
            log.info("signals.registered", provider=SANDBOX, receiver=f"{base}/signals/risc")
            return True
        if attempt + 1 < ATTEMPTS:
            await asyncio.sleep(min(FIRST_PAUSE_SECONDS * 2**attempt, MAX_PAUSE_SECONDS))
    log.warning("signals.registration_failed", provider=SANDBOX, sandbox=sandbox)
    return False
