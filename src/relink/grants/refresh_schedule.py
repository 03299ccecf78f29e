"""When a grant's access token is refreshed: ahead of its expiry, at least daily, never in a loop.

Pure rules on the grant's columns and the job's clock and random source; the refresh itself
(lease, token endpoint, saving the answer) is ``refresh.py``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from relink.models import Grant
from relink.worker.context import JobContext

# Refresh this long before the access token lapses, so an import never starts on a dead token.
REFRESH_MARGIN = timedelta(minutes=5)
# Spread refreshes over this window: a thousand grants with one expiry must not refresh at once.
REFRESH_JITTER = timedelta(minutes=10)
# Every grant at least daily: refresh tokens left idle for months die at some providers.
MAX_REFRESH_INTERVAL = timedelta(hours=24)
# A token shorter-lived than margin + jitter is refreshed between these shares of its lifetime:
# late enough to be worth a call, early enough to keep a quarter of it as margin.
SHORT_LIFETIME_REFRESH_SHARE = (0.5, 0.75)
# ... and is fresh until this share of its lifetime is left (the margin of a short token).
SHORT_LIFETIME_MARGIN_SHARE = 0.25
# Never due again sooner than this after a refresh: a token endpoint handing out tokens of a few
# seconds must not be called in a loop (one sweep once made 2,956 calls for 2 grants).
MIN_REFRESH_INTERVAL = timedelta(seconds=30)


def next_refresh_at(
    *, now: datetime, access_expires_at: datetime | None, ctx: JobContext
) -> datetime:
    """When to refresh next: before the access token lapses (margin + jitter), and at least daily.

    A token living less than margin + jitter is refreshed at one half to three quarters of its
    lifetime instead, and never sooner than ``MIN_REFRESH_INTERVAL``: never "now", so a grant
    just refreshed is not due again in the same sweep.
    """
    daily = now + MAX_REFRESH_INTERVAL - REFRESH_JITTER * ctx.rng.random()
    if access_expires_at is None:
        return daily
    ahead = access_expires_at - REFRESH_MARGIN - REFRESH_JITTER * ctx.rng.random()
    lifetime = max(access_expires_at - now, timedelta(0))
    low, high = SHORT_LIFETIME_REFRESH_SHARE
    share_of_lifetime = now + lifetime * ctx.rng.uniform(low, high)
    earliest = now + MIN_REFRESH_INTERVAL
    return min(max(ahead, share_of_lifetime, earliest), daily)


def refresh_margin(grant: Grant) -> timedelta:
    """How much of the access token's life must be left to use it: ``REFRESH_MARGIN``, or a
    quarter of a shorter-lived token's lifetime."""
    if grant.access_expires_at is None or grant.last_refreshed_at is None:
        return REFRESH_MARGIN
    lifetime = max(grant.access_expires_at - grant.last_refreshed_at, timedelta(0))
    return min(REFRESH_MARGIN, lifetime * SHORT_LIFETIME_MARGIN_SHARE)


def is_fresh(grant: Grant, *, now: datetime) -> bool:
    return grant.access_expires_at is not None and grant.access_expires_at > now + refresh_margin(
        grant
    )


def in_backoff(grant: Grant, *, now: datetime) -> bool:
    """A refresh failed lately for a transient reason and its retry is not due yet."""
    return (
        grant.refresh_failures > 0
        and grant.next_refresh_at is not None
        and grant.next_refresh_at > now
    )
