"""Which queue each job travels on: imports on a queue of their own, so nothing waits behind them.

An import or a backfill runs as long as a provider takes to hand over months of days; a
signal's check, a revocation, the sweep, the probe and the scheduled refreshes must not wait
for it, or a break found during a backfill is told when the backfill is over. Each queue is
served by processes of its own: ``relink worker`` starts one Celery node per queue, and the
embedded runner keeps a limit per queue, so imports filling every slot of theirs take none
of the others'.
"""

from __future__ import annotations

from relink.worker.registry import JobName

# What a person or a provider asks for now: a signal's check, a revocation, a delivery.
JOBS_QUEUE = "jobs"
# What the scheduler sends on every interval: the sweep and the periodic jobs.
PERIODIC_QUEUE = "periodic"
# Imports and backfills: long, and as many at once as the imports' processes allow.
IMPORTS_QUEUE = "imports"
QUEUES = (JOBS_QUEUE, PERIODIC_QUEUE, IMPORTS_QUEUE)

# Jobs every tick runs after the sweep; Celery beat sends the same list in the scaled mode.
PERIODIC_JOBS = (
    JobName.RESUME_PENDING,
    JobName.EMAIL_COMPOSE_DUE,
    JobName.EMAIL_REMINDERS,
    JobName.WEBHOOKS_DELIVER_DUE,
    JobName.PURGE_TRASH,
    JobName.EXPIRY_WATCH,
    JobName.PROBE,
)
PERIODIC_NAMES = frozenset({JobName.SWEEP, *PERIODIC_JOBS})
IMPORT_NAMES = frozenset({JobName.IMPORT, JobName.BACKFILL_GRANT})


def queue_for(name: JobName) -> str:
    """The queue a job travels on."""
    if name in IMPORT_NAMES:
        return IMPORTS_QUEUE
    if name in PERIODIC_NAMES:
        return PERIODIC_QUEUE
    return JOBS_QUEUE
