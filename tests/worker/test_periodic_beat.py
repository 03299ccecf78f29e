"""The scheduler sends a periodic job only while none of it waits: one pending sweep at most."""

from __future__ import annotations

import json
from collections import Counter

import redis
from celery.utils.imports import symbol_by_name

from relink.config import Settings
from relink.worker.celery_app import BEAT_SCHEDULER, create_celery
from relink.worker.celery_dispatch import CeleryDispatcher
from relink.worker.enqueue import QueuedJob
from relink.worker.periodic_beat import CoalescingScheduler, waiting_tasks
from relink.worker.queues import PERIODIC_QUEUE
from relink.worker.registry import JobName
from tests.fixtures.redis_server import PrivateRedis

SWEEP = JobName.SWEEP.value
PROBE = JobName.PROBE.value


def _beat(redis_url: str) -> CoalescingScheduler:
    return CoalescingScheduler(app=create_celery(Settings(redis_url=redis_url)))


def _tick(beat: CoalescingScheduler, *names: str) -> None:
    """Each named entry comes due once, as beat's loop would send it."""
    for name in names:
        beat.apply_entry(beat.schedule[name], producer=beat.producer)


def _waiting(redis_url: str) -> Counter[str]:
    client = redis.Redis.from_url(redis_url)
    return Counter(
        json.loads(raw)["headers"]["task"] for raw in client.lrange(PERIODIC_QUEUE, 0, -1)
    )


def test_ticks_while_a_sweep_waits_leave_one_sweep_waiting_not_a_pile(
    redis_server: PrivateRedis,
) -> None:
    beat = _beat(redis_server.url)

    _tick(beat, SWEEP, SWEEP, SWEEP)

    assert _waiting(redis_server.url) == Counter({SWEEP: 1})


def test_once_a_worker_took_the_waiting_sweep_the_next_tick_sends_one_again(
    redis_server: PrivateRedis,
) -> None:
    beat = _beat(redis_server.url)
    _tick(beat, SWEEP)
    # A worker takes it (kombu pops from the list's end) and runs it: one runs, none waits.
    redis.Redis.from_url(redis_server.url).rpop(PERIODIC_QUEUE)

    _tick(beat, SWEEP, SWEEP)

    assert _waiting(redis_server.url) == Counter({SWEEP: 1})


def test_each_periodic_job_waits_once_beside_the_others(redis_server: PrivateRedis) -> None:
    beat = _beat(redis_server.url)

    _tick(beat, SWEEP, PROBE, SWEEP, PROBE)

    assert _waiting(redis_server.url) == Counter({SWEEP: 1, PROBE: 1})


def test_an_admins_sweep_waiting_stands_for_the_schedules_sweep(
    redis_server: PrivateRedis,
) -> None:
    celery = create_celery(Settings(redis_url=redis_server.url))
    CeleryDispatcher(celery).dispatch(QueuedJob(name=JobName.SWEEP, kwargs={"job_id": "a" * 32}))
    beat = CoalescingScheduler(app=celery)

    _tick(beat, SWEEP)

    assert waiting_tasks(redis.Redis.from_url(redis_server.url), PERIODIC_QUEUE) == {SWEEP}
    assert _waiting(redis_server.url) == Counter({SWEEP: 1})


def test_the_scheduler_command_runs_the_coalescing_scheduler() -> None:
    assert symbol_by_name(BEAT_SCHEDULER) is CoalescingScheduler


def test_a_queue_that_cannot_be_read_gets_its_sweep_all_the_same(
    redis_server: PrivateRedis,
) -> None:
    redis.Redis.from_url(redis_server.url).lpush(PERIODIC_QUEUE, b"not a kombu message")
    beat = _beat(redis_server.url)

    _tick(beat, SWEEP)

    assert redis.Redis.from_url(redis_server.url).llen(PERIODIC_QUEUE) == 2, "a sweep was sent"
