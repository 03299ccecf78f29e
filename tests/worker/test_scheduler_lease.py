"""Exactly one scheduler sends: a second waits on the lease, and takes over when it ends."""

from __future__ import annotations

import redis

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
