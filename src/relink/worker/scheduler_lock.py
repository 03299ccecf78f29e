"""Exactly one scheduler: a lease in Redis that a second `relink scheduler` waits for.

Celery beat sends whatever its schedule says, so two beats would send every job twice. The
scheduler holds a Redis key with its own token, renews it well before it runs out, and stops
the process at once if it ever finds the key gone or taken; a second scheduler waits as a
standby and takes over at most ``TAKEOVER_SECONDS`` after the first one's death: the dead
one's lease runs out, and the standby's next look takes it (the README states the figure).
"""

from __future__ import annotations

import os
import secrets
import threading
import time

import redis
import structlog

log = structlog.get_logger(__name__)

KEY = "relink:scheduler"
# Long enough to survive a few slow Redis round trips (renewed twice before it runs out);
# short enough for a quick takeover.
LEASE_SECONDS = 25.0
RENEW_EVERY_SECONDS = LEASE_SECONDS / 3
STANDBY_POLL_SECONDS = 1.0
# The longest a standby waits after the leader's death: a full lease just renewed, then one
# poll. Its Celery app is made before it waits, so it sends as soon as it leads.
TAKEOVER_SECONDS = LEASE_SECONDS + STANDBY_POLL_SECONDS

# Extend the lease only if it is still ours (compare, then extend, atomically).
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


class SchedulerLease:
    """The scheduler's lease on ``KEY``, held by one token."""

    def __init__(self, client: redis.Redis, *, lease_seconds: float = LEASE_SECONDS) -> None:
        self.client = client
        self.token = f"{os.getpid()}:{secrets.token_hex(8)}"
        self.lease_ms = int(lease_seconds * 1000)

    def try_take(self) -> bool:
        return bool(self.client.set(KEY, self.token, nx=True, px=self.lease_ms))

    def renew(self) -> bool:
        return bool(self.client.eval(_RENEW, 1, KEY, self.token, self.lease_ms))

    def release(self) -> None:
        self.client.eval(_RELEASE, 1, KEY, self.token)

    def wait_to_take(self) -> None:
        """Block (as a standby) until the lease is ours."""
        waiting = False
        while not self.try_take():
            if not waiting:
                log.warning("worker.scheduler.standby", hint="another scheduler is running")
                waiting = True
            time.sleep(STANDBY_POLL_SECONDS)
        log.info("worker.scheduler.leading")

    def keep_renewing(self) -> threading.Thread:
        """Renew in the background; a lost lease ends the process (a standby takes over)."""

        def renew_forever() -> None:
            while True:
                time.sleep(RENEW_EVERY_SECONDS)
                try:
                    held = self.renew()
                except redis.RedisError:
                    # Redis away: beat cannot send anything either; try again next beat.
                    log.warning("worker.scheduler.renew_failed", exc_info=True)
                    continue
                if not held:
                    log.error("worker.scheduler.lease_lost")
                    os._exit(3)

        thread = threading.Thread(target=renew_forever, name="scheduler-lease", daemon=True)
        thread.start()
        return thread
