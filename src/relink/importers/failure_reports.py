"""Failures an outside importer met, reported and decided as Relink's own imports' are.

The report is classified with the provider's catalog rules and runs the same failure path: an
expired access token is refreshed once for the grant (single-flight, whoever reports it), a
definitive answer disconnects what it names and opens the incident that tells people, anything
else waits and retries. A report never does more than Relink's own answer would: a 5xx, a
timeout or no answer at all stays transient. The importer is told what to do: retry after N
seconds, retry now with the fresh credentials in the answer, or stop until reconnected.

A report is idempotent by the importer's key: the same key answers the first report's advice
and runs nothing again. What is stored is redacted and cut to size first: no credential of the
importer's request or the provider's answer is kept.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from relink.data_sources.failures import RATE_LIMIT_DEFAULT_WAIT, apply_data_source_failure
from relink.data_sources.import_credentials import RefreshFailed, credentials_for_import
from relink.grants.failures import DETECTION, Detection
from relink.grants.service import open_credentials
from relink.importers.caller import ImporterCaller
from relink.importers.credentials import (
    TRANSIENT_WAIT_SECONDS,
    Handed,
    handed,
    reconnect_url,
)
from relink.models import DataSource, FailureReport, Grant
from relink.providers.classify import Classification, classify
from relink.providers.redaction import redact
from relink.providers.results import ProviderFailure
from relink.providers.taxonomy import GRANT_LEVEL, AuthKind, ErrorClass
from relink.status import DataSourceStatus, GrantStatus
from relink.worker.context import JobContext

# What of the provider's answer is kept with the report, after redaction.
STORED_BODY_CHARS = 2000
# The answer's headers that classification reads and that are kept; the rest (cookies, the
# provider's own tracing) are neither read nor stored.
KEPT_HEADERS = frozenset(
    {"retry-after", "www-authenticate", "content-type", "x-ratelimit-reset", "x-error-code"}
)


# How an incident opened by a report says it was found (incidents' ``detected_via``).
DETECTED_VIA = "importer"


class Action(enum.StrEnum):
    # Wait ``retry_after_seconds``, then call again with the credentials you hold.
    RETRY_LATER = "retry_later"
    # Call again now, with the fresh credentials of the answer.
    RETRY_NOW = "retry_now"
    # Stop importing this data source until a person reconnects it (``reconnect_url``).
    STOP = "stop"


@dataclass(frozen=True)
class Report:
    """What the importer met: the provider's status (None: no answer came), the headers that
    matter, the body, the call made, and the token generation it called with."""

    status: int | None
    headers: Mapping[str, str]
    body: str
    method: str
    url: str
    token_generation: int | None


@dataclass(frozen=True)
class Advice:
    action: Action
    error_class: ErrorClass
    hint: str
    retry_after_seconds: float | None = None
    reconnect_url: str | None = None
    data_source_status: DataSourceStatus | None = None
    # With RETRY_NOW only; never stored.
    credentials: Handed | None = None
    # True when this answer is the first report's, for a key sent again.
    replayed: bool = False

    def stored(self) -> dict[str, Any]:
        """What the report row keeps of it (no credentials)."""
        return {
            "action": self.action.value,
            "error_class": self.error_class.value,
            "hint": self.hint,
            "retry_after_seconds": self.retry_after_seconds,
            "reconnect_url": self.reconnect_url,
            "data_source_status": self.data_source_status.value
            if self.data_source_status
            else None,
        }

    @classmethod
    def of_stored(cls, kept: Mapping[str, Any]) -> Advice:
        status = kept.get("data_source_status")
        return cls(
            action=Action(kept["action"]),
            error_class=ErrorClass(kept["error_class"]),
            hint=kept["hint"],
            retry_after_seconds=kept.get("retry_after_seconds"),
            reconnect_url=kept.get("reconnect_url"),
            data_source_status=DataSourceStatus(status) if status else None,
            replayed=True,
        )


def kept_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The answer's headers that matter, lower-cased; a credential-looking value redacted."""
    return {
        name.lower(): redact(value, 300)
        for name, value in headers.items()
        if name.lower() in KEPT_HEADERS
    }


def described_call(method: str, url: str) -> str:
    """The call as stored: method, host and path; the query's values dropped (a key may ride
    there), its names kept."""
    parts = urlsplit(url)
    names = sorted({pair.split("=", 1)[0] for pair in parts.query.split("&") if pair})
    query = ("?" + "&".join(f"{n}=…" for n in names)) if names else ""
    return f"{method.upper()} {parts.scheme}://{parts.netloc}{redact(parts.path, 200)}{query}"[:300]


async def report_failure(
    ctx: JobContext,
    *,
    caller: ImporterCaller,
    data_source_id: int,
    key: str,
    report: Report,
) -> Advice:
    """Decide one reported failure and answer what the importer should do.

    In transactions of its own, never the request's: a refused token is refreshed between
    them, with no connection held meanwhile (a burst of reports for one grant's thousands of
    data sources must not hold the pool while the single refresh runs).
    """
    async with ctx.database.transaction() as session:
        source = await caller.data_source(session, data_source_id)
        earlier = await _earlier(session, data_source_id=source.id, key=key)
        if earlier is not None:
            return earlier
        grant = await session.get_one(Grant, source.grant_id)
        spec = ctx.catalog.get(source.provider)
        classification = classify(
            spec,
            status=report.status,
            body=report.body,
            headers=kept_headers(report.headers),
            phase="api",
        )
        if not _needs_refresh(source, grant, classification):
            advice = await _decide(session, ctx, caller, source, grant, classification)
            return await _kept(session, caller, source, key, report, classification, advice)
    advice = await _refreshed(ctx, caller, data_source_id, classification, report)
    async with ctx.database.transaction() as session:
        source = await caller.data_source(session, data_source_id)
        return await _kept(session, caller, source, key, report, classification, advice)


def _needs_refresh(source: DataSource, grant: Grant, classification: Classification) -> bool:
    """An access token the provider refused, of a grant still up: refresh it for everyone."""
    return (
        classification.error_class is ErrorClass.ACCESS_TOKEN_EXPIRED
        and grant.auth_kind is AuthKind.OAUTH2
        and grant.status is GrantStatus.ACTIVE
        and source.status is not DataSourceStatus.DISCONNECTED
    )


async def _kept(
    session: AsyncSession,
    caller: ImporterCaller,
    source: DataSource,
    key: str,
    report: Report,
    classification: Classification,
    advice: Advice,
) -> Advice:
    """The report stored with its advice; for a key stored meanwhile, that first advice."""
    row = FailureReport(
        agency_id=source.agency_id,
        data_source_id=source.id,
        idempotency_key=key,
        reported_by=caller.actor,
        status=report.status,
        call=described_call(report.method, report.url),
        body_excerpt=redact(report.body, STORED_BODY_CHARS),
        error_class=classification.error_class.value,
        advice=advice.stored(),
    )
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:
        # The same key, reported at the same moment by a retrying importer: the first wins.
        replayed = await _earlier(session, data_source_id=source.id, key=key)
        if replayed is not None:
            return replayed
        raise
    return advice


async def _earlier(session: AsyncSession, *, data_source_id: int, key: str) -> Advice | None:
    kept = await session.scalar(
        select(FailureReport.advice).where(
            FailureReport.data_source_id == data_source_id, FailureReport.idempotency_key == key
        )
    )
    return Advice.of_stored(kept) if kept is not None else None


async def _decide(
    session: AsyncSession,
    ctx: JobContext,
    caller: ImporterCaller,
    source: DataSource,
    grant: Grant,
    classification: Classification,
) -> Advice:
    if source.status is DataSourceStatus.DISCONNECTED or grant.status is not GrantStatus.ACTIVE:
        # Decided already (by another report, a signal, a probe): nothing more to apply.
        return _stop(ctx, source, grant, classification, hint=source.status_detail)
    now = ctx.now()
    locked = await caller.data_source(session, source.id, lock=True)
    await session.refresh(grant)
    if grant.status is not GrantStatus.ACTIVE and classification.error_class not in GRANT_LEVEL:
        return _stop(ctx, locked, grant, classification, hint=None)
    # The incident says the platform's importer found it (the actor names which token).
    detection = DETECTION.set(Detection(via=DETECTED_VIA))
    try:
        await apply_data_source_failure(
            session,
            source=locked,
            grant=grant,
            classification=classification,
            now=now,
            actor=caller.actor,
            rng=ctx.rng,
        )
        await session.flush()
    finally:
        DETECTION.reset(detection)
    if classification.disconnects:
        await session.refresh(locked)
        return _stop(ctx, locked, grant, classification, hint=None)
    return Advice(
        action=Action.RETRY_LATER,
        error_class=classification.error_class,
        hint=classification.hint,
        retry_after_seconds=_wait(classification, locked, now),
        data_source_status=locked.status,
    )


async def _refreshed(
    ctx: JobContext,
    caller: ImporterCaller,
    data_source_id: int,
    classification: Classification,
    report: Report,
) -> Advice:
    """The provider refused the access token: refresh once for the grant (unless the token the
    importer used was replaced already), and hand the fresh one back."""
    async with ctx.database.transaction() as session:
        source = await caller.data_source(session, data_source_id)
        grant = await session.get_one(Grant, source.grant_id)
    refused = report.token_generation
    try:
        await credentials_for_import(
            ctx,
            grant_id=grant.id,
            provider=grant.provider,
            auth_kind=grant.auth_kind,
            refused_generation=refused if refused is not None else grant.token_generation,
        )
    except (RefreshFailed, ProviderFailure) as failed:
        failure = failed.failure if isinstance(failed, RefreshFailed) else failed
        async with ctx.database.transaction() as session:
            source = await caller.data_source(session, data_source_id)
            grant = await session.get_one(Grant, source.grant_id)
        if failure.classification.disconnects or grant.status is not GrantStatus.ACTIVE:
            return _stop(ctx, source, grant, failure.classification, hint=None)
        return Advice(
            action=Action.RETRY_LATER,
            error_class=failure.error_class,
            hint=failure.classification.hint,
            retry_after_seconds=failure.classification.retry_after or TRANSIENT_WAIT_SECONDS,
            data_source_status=source.status,
        )
    async with ctx.database.transaction() as session:
        source = await caller.data_source(session, data_source_id)
        grant = await session.get_one(Grant, source.grant_id)
        credentials = await open_credentials(session, box=ctx.box, grant=grant)
    spec = ctx.catalog.get(source.provider)
    return Advice(
        action=Action.RETRY_NOW,
        error_class=classification.error_class,
        hint="Relink refreshed the access token: call again with the one in this answer.",
        data_source_status=source.status,
        credentials=handed(spec, source, grant, credentials, grant.token_generation),
    )


def _stop(
    ctx: JobContext,
    source: DataSource,
    grant: Grant,
    classification: Classification,
    *,
    hint: str | None,
) -> Advice:
    error_class = source.status_reason or classification.error_class
    return Advice(
        action=Action.STOP,
        error_class=error_class,
        hint=hint or classification.hint,
        reconnect_url=reconnect_url(ctx, source=source, grant=grant),
        data_source_status=source.status,
    )


def _wait(classification: Classification, source: DataSource, now: datetime) -> float:
    if classification.retry_after is not None:
        return classification.retry_after
    if classification.error_class is ErrorClass.RATE_LIMITED:
        return RATE_LIMIT_DEFAULT_WAIT.total_seconds()
    if source.next_sync_at is not None and source.next_sync_at > now:
        return max(1.0, (source.next_sync_at - now).total_seconds())
    return timedelta(seconds=TRANSIENT_WAIT_SECONDS).total_seconds()
