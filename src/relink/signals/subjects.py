"""From a verified signal's subject to the grants it names, and a check queued for each."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.models import Grant
from relink.providers.taxonomy import AuthKind
from relink.signals.check import VIA_SIGNAL
from relink.status import GrantStatus
from relink.worker.enqueue import enqueue
from relink.worker.registry import JobName

log = structlog.get_logger(__name__)


async def queue_checks(
    session: AsyncSession,
    *,
    kind: str,
    providers: Iterable[str],
    subjects: Iterable[str],
    evidence_at: datetime,
) -> list[int]:
    """Queue an immediate check of every active OAuth grant of these identities, in every
    agency (a provider's signal is about its user, whoever connected them)."""
    subject_list = list(subjects)
    if not subject_list:
        return []
    grant_ids = list(
        await session.scalars(
            select(Grant.id).where(
                Grant.provider.in_(list(providers)),
                Grant.auth_kind == AuthKind.OAUTH2,
                Grant.external_identity.in_(subject_list),
                Grant.status == GrantStatus.ACTIVE,
            )
        )
    )
    for grant_id in grant_ids:
        enqueue(
            session,
            JobName.CHECK_GRANT,
            grant_id=grant_id,
            via=VIA_SIGNAL,
            evidence_at=evidence_at.isoformat(),
        )
    log.info("signals.accepted", kind=kind, grants=len(grant_ids), subjects=len(subject_list))
    return grant_ids
