"""From a verified signal's subject to the grants it names, and a check queued for each."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.models import Grant
from relink.providers.revocation import Revocation
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
    reported: Mapping[str, Revocation] | None = None,
) -> list[int]:
    """Queue an immediate check of every active OAuth grant of these identities, in every
    agency (a provider's signal is about its user, whoever connected them); each check carries
    the revocation ``reported`` for its identity, for the words of what it finds."""
    subject_list = list(subjects)
    if not subject_list:
        return []
    rows = (
        await session.execute(
            select(Grant.id, Grant.external_identity).where(
                Grant.provider.in_(list(providers)),
                Grant.auth_kind == AuthKind.OAUTH2,
                Grant.external_identity.in_(subject_list),
                Grant.status == GrantStatus.ACTIVE,
            )
        )
    ).all()
    grant_ids = [row.id for row in rows]
    for row in rows:
        revocation = (reported or {}).get(row.external_identity)
        enqueue(
            session,
            JobName.CHECK_GRANT,
            grant_id=row.id,
            via=VIA_SIGNAL,
            evidence_at=evidence_at.isoformat(),
            signal_event=revocation.event if revocation else None,
            signal_reason=revocation.reason if revocation else None,
        )
    log.info("signals.accepted", kind=kind, grants=len(grant_ids), subjects=len(subject_list))
    return grant_ids
