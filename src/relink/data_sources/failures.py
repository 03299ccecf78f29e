"""Applying a classified failure (DESIGN.md, Error taxonomy): what breaks, what waits, who knows."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from relink.grants.failures import (
    BACKOFF_CAP,
    Applied,
    apply_grant_failure,
    backoff,
    disconnect_data_sources,
)
from relink.incidents import service as incidents
from relink.models import DataSource, Grant
from relink.notifications.outgoing import emit_for_data_sources
from relink.providers.classify import Classification
from relink.providers.taxonomy import DATA_SOURCE_LEVEL, GRANT_LEVEL, ErrorClass
from relink.status import DataSourceStatus
from relink.status_writer import transition_many

# Three failed runs in a row (about three hours on the hourly schedule, with backoff) is past
# a blip: the data source shows `failing` and people get a "data delayed" notice, not an alarm.
FAILING_AFTER_FAILURES = 3
# Without a Retry-After, a rate limit waits this long.
RATE_LIMIT_DEFAULT_WAIT = timedelta(minutes=5)


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
        down = await disconnect_data_sources(
            session,
            DataSource.id == source.id,
            agency_id=source.agency_id,
            reason=error_class,
            detail=classification.hint,
            now=now,
            actor=actor,
        )
        opened = await _open_for_source(
            session, source=source, grant=grant, classification=classification, now=now
        )
        return Applied(error_class, tuple(down), opened.incident.id, opened.created)
    if error_class is ErrorClass.DATA_ERROR:
        # The previous rows stay; "Try again" re-runs the import.
        source.next_sync_at = now + backoff(1, rng=rng)
        await emit_for_data_sources(
            session,
            agency_id=source.agency_id,
            event="import.failed",
            data_source_ids=[source.id],
            error_class=error_class,
            hint=classification.hint,
            now=now,
        )
        opened = await _open_for_source(
            session, source=source, grant=grant, classification=classification, now=now
        )
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
            detected_via="import",
        )
        return Applied(error_class, (), opened.incident.id, opened.created)
    return await _transient(
        session,
        source=source,
        grant=grant,
        classification=classification,
        now=now,
        actor=actor,
        rng=rng,
    )


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
        detected_via="import",
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
    # A connected source shows it is failing; one already failing stays as it is.
    await transition_many(
        session,
        [source.id],
        to=DataSourceStatus.FAILING,
        only_from={DataSourceStatus.CONNECTED},
        error_class=ErrorClass.PROVIDER_UNAVAILABLE,
        detail=classification.hint,
        actor=actor,
        now=now,
    )
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
        detected_via="import",
    )
    return Applied(classification.error_class, (), opened.incident.id, opened.created)
