"""Applying a classified failure (DESIGN.md, Error taxonomy): what breaks, what waits, who knows."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from relink.incidents import service as incidents
from relink.models import DataSource, Event, Grant
from relink.notifications.outgoing import emit_for_data_sources
from relink.providers.classify import Classification
from relink.providers.taxonomy import DATA_SOURCE_LEVEL, GRANT_LEVEL, ErrorClass
from relink.status import DataSourceStatus, GrantStatus, check_grant_transition

# Three failed runs in a row (about three hours on the hourly schedule, with backoff) is past
# a blip: the data source shows `failing` and people get a "data delayed" notice, not an alarm.
FAILING_AFTER_FAILURES = 3
# Exponential backoff for transient failures: 2, 4, 8, ... minutes, capped at an hour, jittered
# so a provider's recovery is not met by every data source in the same second.
BACKOFF_BASE = timedelta(minutes=2)
BACKOFF_CAP = timedelta(hours=1)
BACKOFF_JITTER = (0.5, 1.5)
# Without a Retry-After, a rate limit waits this long.
RATE_LIMIT_DEFAULT_WAIT = timedelta(minutes=5)

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
) -> Applied:
    """Auth revoked/expired: the grant and every live data source on it go down, at once."""
    reason = classification.error_class
    detail = classification.hint
    if grant.status is not GrantStatus.DISCONNECTED:
        check_grant_transition(grant.status, GrantStatus.DISCONNECTED)
        session.add(
            Event(agency_id=grant.agency_id, actor=actor, subject_type="grant",
                  subject_id=grant.id, action="status_changed", from_status=grant.status,
                  to_status=GrantStatus.DISCONNECTED, reason=detail, at=now, details={})
        )  # fmt: skip
        grant.status = GrantStatus.DISCONNECTED
    grant.status_reason = reason
    grant.status_detail = detail
    down = await _disconnect_where(
        session,
        (DataSource.grant_id == grant.id) & DataSource.status.in_(DISCONNECTABLE),
        agency_id=grant.agency_id, reason=reason, detail=detail, now=now, actor=actor,
    )  # fmt: skip
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
    )
    return Applied(reason, tuple(down), opened.incident.id, opened.created)


async def apply_data_source_failure(
    session: AsyncSession,
    *,
    source: DataSource,
    grant: Grant,
    classification: Classification,
    now: datetime,
    actor: str,
    rng: random.Random,
) -> Applied:
    """One data source's failure, by class: disconnect, keep data, or wait and retry."""
    error_class = classification.error_class
    source.last_failed_at = now
    if error_class in GRANT_LEVEL:
        return await apply_grant_failure(
            session, grant=grant, classification=classification, now=now, actor=actor
        )
    if error_class in DATA_SOURCE_LEVEL:
        down = await _disconnect_where(
            session,
            (DataSource.id == source.id) & DataSource.status.in_(DISCONNECTABLE),
            agency_id=source.agency_id,
            reason=error_class,
            detail=classification.hint,
            now=now,
            actor=actor,
        )
        opened = await _open_for_source(session, source=source, grant=grant,
                                        classification=classification, now=now)  # fmt: skip
        return Applied(error_class, tuple(down), opened.incident.id, opened.created)
    if error_class is ErrorClass.DATA_ERROR:
        # The previous rows stay; "Try again" re-runs the import.
        source.next_sync_at = now + backoff(1, rng=rng)
        await emit_for_data_sources(
            session, agency_id=source.agency_id, event="import.failed",
            data_source_ids=[source.id], error_class=error_class, hint=classification.hint,
            now=now,
        )  # fmt: skip
        opened = await _open_for_source(session, source=source, grant=grant,
                                        classification=classification, now=now)  # fmt: skip
        return Applied(error_class, (), opened.incident.id, opened.created)
    if error_class is ErrorClass.RATE_LIMITED:
        wait = (
            timedelta(seconds=classification.retry_after)
            if classification.retry_after is not None
            else RATE_LIMIT_DEFAULT_WAIT
        )
        source.next_sync_at = now + wait
        return Applied(error_class)
    if error_class is ErrorClass.APP_MISCONFIGURED:
        source.next_sync_at = now + BACKOFF_CAP
        opened = await incidents.open_or_extend(
            session,
            agency_id=source.agency_id,
            key=incidents.provider_key(grant.provider, error_class),
            error_class=error_class,
            provider=grant.provider,
            now=now,
            detail=classification.detail,
            hint=classification.hint,
        )
        return Applied(error_class, (), opened.incident.id, opened.created)
    return await _transient(
        session, source=source, grant=grant, classification=classification, now=now,
        actor=actor, rng=rng,
    )  # fmt: skip


async def _open_for_source(
    session: AsyncSession,
    *,
    source: DataSource,
    grant: Grant,
    classification: Classification,
    now: datetime,
) -> incidents.Opened:
    """This data source's own incident for this cause, opened or extended."""
    return await incidents.open_or_extend(
        session,
        agency_id=source.agency_id,
        key=incidents.data_source_key(source.id, classification.error_class),
        error_class=classification.error_class,
        provider=grant.provider,
        now=now,
        grant_id=grant.id,
        data_source_id=source.id,
        detail=classification.detail,
        hint=classification.hint,
    )


async def _transient(
    session: AsyncSession,
    *,
    source: DataSource,
    grant: Grant,
    classification: Classification,
    now: datetime,
    actor: str,
    rng: random.Random,
) -> Applied:
    source.consecutive_failures += 1
    source.next_sync_at = now + backoff(source.consecutive_failures, rng=rng)
    if source.consecutive_failures < FAILING_AFTER_FAILURES:
        return Applied(classification.error_class)
    if source.status is DataSourceStatus.CONNECTED:
        session.add(
            Event(agency_id=source.agency_id, actor=actor, subject_type="data_source",
                  subject_id=source.id, action="status_changed", from_status=source.status,
                  to_status=DataSourceStatus.FAILING, reason=classification.hint, at=now,
                  details={})
        )  # fmt: skip
        source.status = DataSourceStatus.FAILING
        source.status_reason = ErrorClass.PROVIDER_UNAVAILABLE
        source.status_detail = classification.hint
    opened = await incidents.open_or_extend(
        session,
        agency_id=source.agency_id,
        key=incidents.grant_key(grant.id, ErrorClass.PROVIDER_UNAVAILABLE),
        error_class=ErrorClass.PROVIDER_UNAVAILABLE,
        provider=grant.provider,
        now=now,
        grant_id=grant.id,
        data_source_ids=[source.id],
        detail=classification.detail,
        hint=classification.hint,
    )
    return Applied(classification.error_class, (), opened.incident.id, opened.created)


async def _disconnect_where(
    session: AsyncSession,
    condition: object,
    *,
    agency_id: int,
    reason: ErrorClass,
    detail: str,
    now: datetime,
    actor: str,
) -> list[int]:
    """One set-based UPDATE and one batch of events, however many data sources it touches."""
    await session.flush()
    rows = (
        await session.execute(
            select(DataSource.id, DataSource.status).where(condition).with_for_update()  # type: ignore[arg-type]
        )
    ).all()
    if not rows:
        return []
    ids = [row.id for row in rows]
    values = {
        "status": DataSourceStatus.DISCONNECTED,
        "status_reason": reason,
        "status_detail": detail,
    }
    await session.execute(
        update(DataSource)
        .where(DataSource.id.in_(ids))
        .values(**values, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        insert(Event),
        [
            {"agency_id": agency_id, "actor": actor, "subject_type": "data_source",
             "subject_id": row.id, "action": "status_changed", "from_status": row.status.value,
             "to_status": DataSourceStatus.DISCONNECTED.value, "reason": detail, "at": now,
             "details": {"error_class": reason.value}}
            for row in rows
        ],
    )  # fmt: skip
    await emit_for_data_sources(
        session, agency_id=agency_id, event="data_source.disconnected", data_source_ids=ids,
        error_class=reason, hint=detail, now=now,
    )  # fmt: skip
    # Loaded objects must see the change without another UPDATE per row.
    changed = set(ids)
    for obj in list(session.identity_map.values()):
        if isinstance(obj, DataSource) and obj.id in changed:
            for name, value in values.items():
                set_committed_value(obj, name, value)
    return ids
