"""The Celery runner: every job is a task that survives its worker, sent only after commit."""

from __future__ import annotations

import json
from datetime import timedelta

import redis

from relink.config import Settings
from relink.worker.celery_app import create_celery
from relink.worker.celery_dispatch import CeleryDispatcher
from relink.worker.enqueue import QueuedJob
from relink.worker.queues import (
    IMPORTS_QUEUE,
    JOBS_QUEUE,
    PERIODIC_JOBS,
    PERIODIC_QUEUE,
    QUEUES,
    queue_for,
)
from relink.worker.registry import JobName
from tests.fixtures.redis_server import PrivateRedis, free_port


def _settings(redis_url: str, **overrides: object) -> Settings:
    return Settings(redis_url=redis_url, **overrides)  # type: ignore[arg-type]


def test_every_job_is_a_task_acknowledged_late_and_put_back_when_its_worker_dies() -> None:
    celery = create_celery(_settings("redis://127.0.0.1:1/0"))

    for name in JobName:
        task = celery.tasks[name.value]
        assert task.acks_late is True, name
        assert task.reject_on_worker_lost is True, name
        assert task.ignore_result is True, name


def test_a_worker_process_takes_one_message_at_a_time() -> None:
    celery = create_celery(_settings("redis://127.0.0.1:1/0"))

    assert celery.conf.worker_prefetch_multiplier == 1
    assert celery.conf.task_acks_late is True
    assert celery.conf.task_reject_on_worker_lost is True


def test_a_silent_workers_job_is_handed_out_again_after_the_visibility_timeout() -> None:
    celery = create_celery(_settings("redis://127.0.0.1:1/0", task_visibility_timeout_seconds=600))

    options = celery.conf.broker_transport_options
    assert options["visibility_timeout"] == 600
    # Looked for every interval (not every tenth), so the wait is about the timeout.
    assert options["unacked_restore_throttle"] == 1
    assert options["unacked_restore_interval"] <= 600 / 5


def test_the_schedule_sends_the_sweep_and_every_periodic_job_on_the_sweep_interval() -> None:
    celery = create_celery(_settings("redis://127.0.0.1:1/0", sweep_interval_seconds=45))

    schedule = celery.conf.beat_schedule
    assert set(schedule) == {JobName.SWEEP.value, *(n.value for n in PERIODIC_JOBS)}
    assert JobName.RESUME_PENDING.value in schedule
    for name, entry in schedule.items():
        assert entry["task"] == name
        assert entry["schedule"] == timedelta(seconds=45)
        assert entry["options"]["queue"] == PERIODIC_QUEUE


def test_what_requests_queue_never_waits_behind_a_sweep() -> None:
    assert queue_for(JobName.SWEEP) == PERIODIC_QUEUE
    for name in (JobName.REVOKE, JobName.REFRESH, JobName.WEBHOOKS_DELIVER):
        assert queue_for(name) == JOBS_QUEUE


def test_imports_and_backfills_travel_on_a_queue_nothing_else_shares() -> None:
    assert queue_for(JobName.IMPORT) == IMPORTS_QUEUE
    assert queue_for(JobName.BACKFILL_GRANT) == IMPORTS_QUEUE
    others = set(JobName) - {JobName.IMPORT, JobName.BACKFILL_GRANT}
    assert {queue_for(name) for name in others} == set(QUEUES) - {IMPORTS_QUEUE}
    assert queue_for(JobName.CHECK_GRANT) == JOBS_QUEUE, "a signal's check"
    assert queue_for(JobName.PROBE) == PERIODIC_QUEUE


def test_a_periodic_message_never_expires_in_its_queue() -> None:
    # Coalesced instead (one waits at most): an expired one would leave a busy queue without.
    celery = create_celery(_settings("redis://127.0.0.1:1/0"))

    for entry in celery.conf.beat_schedule.values():
        assert "expires" not in entry["options"]


def test_the_dispatcher_sends_the_job_by_name_with_its_ids_and_its_row(
    redis_server: PrivateRedis,
) -> None:
    dispatcher = CeleryDispatcher(create_celery(_settings(redis_server.url)))

    dispatcher.dispatch(QueuedJob(name=JobName.REVOKE, kwargs={"grant_id": 7}, pending_id="row-1"))

    client = redis.Redis.from_url(redis_server.url)
    (raw,) = client.lrange(JOBS_QUEUE, 0, -1)
    message = json.loads(raw)
    assert message["headers"]["task"] == "grants.revoke"
    body = json.loads(_decoded(message["body"]))
    assert body[1] == {"job": {"grant_id": 7}, "pending_id": "row-1"}
    assert client.llen(PERIODIC_QUEUE) == 0


def test_a_dispatch_while_redis_is_away_is_logged_and_the_commit_stands() -> None:
    # Nothing listens on this port: the send fails after its short retries, without raising.
    dispatcher = CeleryDispatcher(create_celery(_settings(f"redis://127.0.0.1:{free_port()}/0")))

    dispatcher.dispatch(QueuedJob(name=JobName.SWEEP))


def _decoded(body: str) -> str:
    import base64

    return base64.b64decode(body).decode()
