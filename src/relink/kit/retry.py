"""The retry schedule of outbound deliveries (e-mail, webhooks): a blip is retried within
minutes, an outage gets about nine hours to heal before the delivery is given up."""

from __future__ import annotations

import random
from datetime import timedelta

# Waits after the 1st..5th failed attempt, about x5 each.
RETRY_SCHEDULE = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=6),
)
MAX_ATTEMPTS = len(RETRY_SCHEDULE) + 1
# Up to this fraction later than scheduled, so deliveries that failed together spread out.
JITTER = 0.1


def retry_wait(attempts: int, *, rng: random.Random) -> timedelta | None:
    """The wait before the next attempt after ``attempts`` failed ones; None: give up."""
    if attempts >= MAX_ATTEMPTS:
        return None
    return RETRY_SCHEDULE[attempts - 1] * (1 + rng.uniform(0, JITTER))
