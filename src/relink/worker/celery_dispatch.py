"""The scaled mode's dispatcher: each committed job becomes a Celery message on Redis."""

from __future__ import annotations

import structlog
from celery import Celery

from relink.worker.enqueue import QueuedJob
from relink.worker.queues import queue_for

log = structlog.get_logger(__name__)


class CeleryDispatcher:
    """Sends each committed job to Celery by its name; the job's ids travel as ``job``."""

    def __init__(self, celery: Celery) -> None:
        self.celery = celery

    def dispatch(self, job: QueuedJob) -> None:
        try:
            self.celery.send_task(
                job.name.value,
                kwargs={"job": job.kwargs, "pending_id": job.pending_id},
                queue=queue_for(job.name),
            )
        except Exception:
            # The commit stands. What the job would do is in rows (a data source due now, a
            # pending_job, an outbox e-mail): the sweep and the resume pick it up.
            log.exception(
                "worker.dispatch.failed", job=job.name.value, durable=job.pending_id is not None
            )
