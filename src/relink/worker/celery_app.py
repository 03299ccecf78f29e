"""The scaled mode's runner: Celery on Redis runs the same registered jobs by the same names.

Only the runner changes: jobs are still registered in ``worker/jobs.py``, queued after the
commit by ``worker/enqueue.py`` (a ``CeleryDispatcher`` sends them here), and the sweep still
claims rows. Every job is a Celery task named by its ``JobName`` value, whose message carries
the job's ids (``job``) and, for a durable job, its row (``pending_id``).

Delivery is at least once: a task is acknowledged after it ran (``acks_late``), put back when
the process running it dies (``reject_on_worker_lost``), and handed out again when a whole
worker went silent for the visibility timeout. Jobs take ids, reload and are idempotent, so a
second run finds its work done; each worker process takes one message at a time
(prefetch 1), so a dying process takes no queued work down with it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from celery import Celery, Task

from relink.config import Settings
from relink.worker.queues import JOBS_QUEUE, PERIODIC_JOBS, PERIODIC_QUEUE, queue_for
from relink.worker.registry import JobName

# Celery beat's scheduler: it sends a periodic job only while none of that job waits already.
BEAT_SCHEDULER = "relink.worker.periodic_beat:CoalescingScheduler"
# Sending a job must not hold a request for long while Redis is away: the commit is done, and
# what the job would do is recoverable from rows (the sweep, the resume of pending jobs).
PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
BROKER_CONNECT_TIMEOUT_SECONDS = 2.0
MAX_RESTORE_INTERVAL_SECONDS = 10.0

TASK_OPTIONS: dict[str, Any] = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "ignore_result": True,
}


def create_celery(settings: Settings) -> Celery:
    """The Celery app over ``RELINK_REDIS_URL``, with a task for every job name."""
    if not settings.redis_url:
        raise ValueError("the scaled mode needs RELINK_REDIS_URL")
    app = Celery("relink", broker=settings.redis_url, set_as_current=False)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue=JOBS_QUEUE,
        task_routes={name.value: {"queue": queue_for(name)} for name in JobName},
        task_publish_retry_policy=PUBLISH_RETRY_POLICY,
        broker_connection_timeout=BROKER_CONNECT_TIMEOUT_SECONDS,
        broker_connection_retry_on_startup=True,
        broker_transport_options=transport_options(settings),
        worker_hijack_root_logger=False,
        # Our log lines go to stdout as they are (JSON when asked), not re-logged as warnings.
        worker_redirect_stdouts=False,
        worker_send_task_events=False,
        beat_schedule=beat_schedule(settings),
        timezone="UTC",
    )
    for name in JobName:
        _register(app, name)
    return app


def transport_options(settings: Settings) -> dict[str, float]:
    """Redis' redelivery: after the visibility timeout, looked for a few times per timeout."""
    timeout = settings.task_visibility_timeout_seconds
    return {
        "visibility_timeout": timeout,
        # Kombu looks for overdue messages every interval x throttle seconds (100 s by
        # default): every interval here, so a dead worker's job waits about its timeout.
        "unacked_restore_interval": max(1.0, min(MAX_RESTORE_INTERVAL_SECONDS, timeout / 5)),
        "unacked_restore_throttle": 1,
    }


def beat_schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    """The sweep and every periodic job, each on the sweep interval (as the embedded tick).

    No message expires: the scheduler sends one only while none of its job waits
    (``periodic_beat``), so a busy or stopped periodic worker finds one of each, not a pile.
    """
    every = timedelta(seconds=settings.sweep_interval_seconds)
    return {
        name.value: {
            "task": name.value,
            "schedule": every,
            "kwargs": {"job": {}},
            "options": {"queue": PERIODIC_QUEUE},
        }
        for name in (JobName.SWEEP, *PERIODIC_JOBS)
    }


def _register(app: Celery, name: JobName) -> None:
    def run(self: Task, job: dict[str, Any] | None = None, pending_id: str | None = None) -> None:
        from relink.worker.celery_process import run_in_process

        run_in_process(name, job or {}, pending_id)

    run.__name__ = run.__qualname__ = f"run_{name.name.lower()}"
    # Not shared: each app (one per process, more in tests) has its own tasks.
    app.task(name=name.value, bind=True, shared=False, **TASK_OPTIONS)(run)


def run_node(settings: Settings, *, queues: str, concurrency: int, hostname: str) -> None:
    """Run one Celery worker node in this process: ``concurrency`` pool processes serving
    ``queues`` (comma-separated), one message at a time each."""
    from relink.worker.celery_process import connect_signals

    celery = create_celery(settings)
    connect_signals()
    celery.worker_main(
        [
            "worker",
            f"--concurrency={concurrency}",
            f"--queues={queues}",
            f"--hostname={hostname}",
            "--pool=prefork",
            "--loglevel=INFO",
            # No chatter between workers: they share nothing but the queue and the database.
            "--without-gossip",
            "--without-mingle",
        ]
    )
