"""A grant-level failure (DESIGN.md, Error taxonomy): the login is dead, so is all it serves.

When the provider says the grant itself is revoked or expired, the grant and every live data
source on it go down at once, in one set-based move, with one incident for the repair they
share. The refresh applies this itself; a data source's import applies it through
``data_sources/failures.py``, which depends on this module and never the other way round.
"""

from __future__ import annotations

import random
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.incidents import service as incidents
from relink.models import DataSource, Grant
from relink.notifications.outgoing import emit_for_data_sources
from relink.providers.classify import Classification, after_lifetime, after_revocation
from relink.providers.dead_grant import told
from relink.providers.taxonomy import GRANT_LEVEL, ErrorClass
from relink.status import DataSourceStatus, GrantStatus
from relink.status_writer import transition_many

# Exponential backoff for transient failures: 2, 4, 8, ... minutes, capped at an hour, jittered
# so a provider's recovery is not met by every grant and data source in the same second.
BACKOFF_BASE = timedelta(minutes=2)
BACKOFF_CAP = timedelta(hours=1)
BACKOFF_JITTER = (0.5, 1.5)


@dataclass(frozen=True)
class Detection:
    """How the failure about to be applied was found, and what that way of finding it knows."""

    via: str
    evidence_at: datetime | None = None
    # What the provider's revocation signal said was done to the login, in the words the
    # failure is told with (providers/revocation.py); None when no signal asked.
    revoked: str | None = None


# Set by a caller up the stack that knows better than the actor (a probe or a provider's signal
# that asked for the refresh; signals/check.py), so the incident records it, and its words say
# it, in the same transaction that opens it.
DETECTION: ContextVar[Detection | None] = ContextVar("relink_detection", default=None)

# Live data sources: the ones a dead login takes down with it.
DISCONNECTABLE = (DataSourceStatus.CONNECTED, DataSourceStatus.FAILING)


@dataclass(frozen=True)
class Applied:
    """What a failure did, for the sweep's summary and the notifier."""

    error_class: ErrorClass
    disconnected_ids: tuple[int, ...] = ()
    incident_id: int | None = None
    incident_created: bool = False


def backoff(failures: int, *, rng: random.Random) -> timedelta:
    """The wait before retry number ``failures`` (1-based)."""
    raw = min(BACKOFF_BASE * (2 ** max(failures - 1, 0)), BACKOFF_CAP)
    return timedelta(seconds=raw.total_seconds() * rng.uniform(*BACKOFF_JITTER))


async def apply_grant_failure(
    session: AsyncSession,
    *,
    grant: Grant,
    classification: Classification,
    now: datetime,
    actor: str,
    detected_via: str | None = None,
    evidence_at: datetime | None = None,
) -> Applied:
    """Auth revoked/expired: the grant and every live data source on it go down, at once.

    ``detected_via`` defaults to what the actor did ("system:refresh" -> "refresh"). The words
    are the best evidence's: a revocation signal that asked for this check, else the end of a
    lifetime Relink warned of when the provider's answer says only "revoked or expired".
    """
    known = DETECTION.get()
    if detected_via is None and known is not None:
        detected_via, evidence_at = known.via, evidence_at or known.evidence_at
    classification = await _as_evidenced(
        session, grant=grant, classification=classification, known=known, now=now
    )
    reason = classification.error_class
    detail = classification.hint
    # Already down (or revoked by Relink itself): the grant stays where it is.
    await transition_many(
        session,
        [grant.id],
        to=GrantStatus.DISCONNECTED,
        only_from={GrantStatus.ACTIVE},
        error_class=reason,
        detail=detail,
        actor=actor,
        now=now,
    )
    # The cause is the latest one, even for a grant that was down already.
    grant.status_reason = reason
    grant.status_detail = detail
    down = await disconnect_data_sources(
        session,
        DataSource.grant_id == grant.id,
        agency_id=grant.agency_id,
        reason=reason,
        detail=detail,
        now=now,
        actor=actor,
    )
    # Sources already down for an auth reason join the incident too: they share the repair.
    affected = set(down) | set(
        await session.scalars(
            select(DataSource.id).where(
                DataSource.grant_id == grant.id,
                DataSource.status == DataSourceStatus.DISCONNECTED,
                DataSource.status_reason.in_(GRANT_LEVEL),
            )
        )
    )
    opened = await incidents.open_or_extend(
        session,
        agency_id=grant.agency_id,
        key=incidents.grant_key(grant.id, reason),
        error_class=reason,
        provider=grant.provider,
        now=now,
        grant_id=grant.id,
        data_source_ids=affected,
        detail=classification.detail,
        hint=classification.hint,
        detected_via=detected_via or actor.removeprefix("system:"),
        evidence_at=evidence_at,
    )
    return Applied(reason, tuple(down), opened.incident.id, opened.created)


async def _as_evidenced(
    session: AsyncSession,
    *,
    grant: Grant,
    classification: Classification,
    known: Detection | None,
    now: datetime,
) -> Classification:
    """``classification`` in the words of the best evidence of why the grant died."""
    if known is not None and known.revoked is not None:
        return after_revocation(classification, said=known.revoked)
    if told(classification.detail) != "revoked_or_expired":
        return classification
    warned = await incidents.open_incident(
        session, agency_id=grant.agency_id, key=incidents.expires_soon_key(grant.id)
    )
    if warned is None or warned.expires_on is None or now.date() < warned.expires_on:
        return classification
    return after_lifetime(classification, ended=warned.expires_on)


async def disconnect_data_sources(
    session: AsyncSession,
    condition: ColumnElement[bool],
    *,
    agency_id: int,
    reason: ErrorClass,
    detail: str,
    now: datetime,
    actor: str,
) -> list[int]:
    """Every live data source matching ``condition`` goes ``disconnected``, set-based, and the
    people who watch them are told; returns the ids that went down."""
    await session.flush()
    ids = await session.scalars(
        select(DataSource.id).where(condition, DataSource.status.in_(DISCONNECTABLE))
    )
    down = await transition_many(
        session,
        ids,
        to=DataSourceStatus.DISCONNECTED,
        only_from=DISCONNECTABLE,
        error_class=reason,
        detail=detail,
        actor=actor,
        now=now,
    )
    if down:
        await emit_for_data_sources(
            session,
            agency_id=agency_id,
            event="data_source.disconnected",
            data_source_ids=down,
            error_class=reason,
            hint=detail,
            now=now,
        )
    return down
