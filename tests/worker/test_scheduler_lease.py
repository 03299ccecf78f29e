"""Exactly one scheduler sends: a second waits on the lease, and takes over when it ends."""

from __future__ import annotations

import re
from pathlib import Path

import redis

from relink.worker import scheduler_lock
from relink.worker.scheduler_lock import SchedulerLease
from tests.fixtures.redis_server import PrivateRedis


def test_a_second_scheduler_cannot_take_the_lease_while_the_first_holds_it(
    redis_server: PrivateRedis,
) -> None:
    client = redis.Redis.from_url(redis_server.url)
    first, second = SchedulerLease(client), SchedulerLease(client)

    assert first.try_take()
    assert not second.try_take()
    assert first.renew()
    assert not second.renew(), "a standby never extends a lease it does not hold"


def test_the_standby_takes_over_once_the_first_scheduler_lets_go(
    redis_server: PrivateRedis,
) -> None:
    client = redis.Redis.from_url(redis_server.url)
    first, second = SchedulerLease(client), SchedulerLease(client)
    assert first.try_take()

    second.release()  # not its lease: nothing happens
    assert not second.try_take()
    first.release()

    assert second.try_take()
    assert not first.renew(), "the old scheduler finds its lease gone and stops"


def test_a_dead_schedulers_lease_runs_out_by_itself(redis_server: PrivateRedis) -> None:
    client = redis.Redis.from_url(redis_server.url)
    dead = SchedulerLease(client, lease_seconds=30)
    assert dead.try_take()

    ttl_ms = client.pttl("relink:scheduler")

    assert 0 < ttl_ms <= 30_000


def test_the_readme_promises_the_takeover_that_the_lease_and_the_standbys_poll_allow() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    promised = re.search(r"takes over within (\d+(?:\.\d+)?) seconds", readme)
    assert promised is not None, "the README says how soon a standby takes over"

    # A leader dead just after renewing leaves a whole lease, then the standby's next look.
    worst = scheduler_lock.LEASE_SECONDS + scheduler_lock.STANDBY_POLL_SECONDS
    assert worst <= float(promised[1])
    assert float(promised[1]) == scheduler_lock.TAKEOVER_SECONDS == worst, "the derived figure"
    assert f"{scheduler_lock.LEASE_SECONDS:g}-second lease" in readme


def test_the_lease_is_renewed_twice_before_it_would_run_out() -> None:
    assert scheduler_lock.RENEW_EVERY_SECONDS * 2 < scheduler_lock.LEASE_SECONDS
