"""Detection jobs: the periodic probe, and the immediate check a signal asks for."""

from __future__ import annotations

from datetime import datetime

from relink.providers.revocation import Revocation
from relink.signals.check import CheckResult, check_grant
from relink.signals.probe import ProbeReport, probe_due
from relink.worker.context import JobContext
from relink.worker.registry import JobName, job


@job(JobName.PROBE)
async def probe_job(ctx: JobContext) -> ProbeReport:
    """Probe every grant that is due, within each provider's budget."""
    return await probe_due(ctx)


@job(JobName.CHECK_GRANT)
async def check_job(
    ctx: JobContext,
    *,
    grant_id: int,
    via: str,
    evidence_at: str | None = None,
    signal_event: str | None = None,
    signal_reason: str | None = None,
) -> CheckResult:
    """Check one grant now (a signal named it); ``evidence_at`` is ISO 8601, ``signal_event``
    and ``signal_reason`` what the signal said was done to the login."""
    evidence = datetime.fromisoformat(evidence_at) if evidence_at else None
    revocation = Revocation.of(signal_event, signal_reason) if signal_event else None
    return await check_grant(
        ctx, grant_id=grant_id, via=via, evidence_at=evidence, revocation=revocation
    )
