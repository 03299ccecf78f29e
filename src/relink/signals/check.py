"""One grant checked with its provider's cheapest authenticated call (DESIGN.md, Detection).

Signals and the probe both end here, and only here does anything go down: a definitive auth
answer runs the usual failure path, anything else (a 5xx, a timeout, a rate limit, an unknown
shape) changes nothing. An access token the provider refuses is settled at the token endpoint
by the ordinary refresh, whose ``invalid_grant`` is the definitive answer; a token that is
simply past its lifetime is left to the refresh schedule (never a refresh just to look).

A signal's own word of what happened (access removed at the provider, by whom when it says)
travels with the check into the failure it may end in: it decides nothing, but once the
provider's answer has, it says why better than an ``invalid_grant`` that reads "expired or
revoked".
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relink.data_sources.failures import apply_data_source_failure
from relink.errors import CredentialsUnreadable
from relink.grants.failures import (
    DETECTION,
    DISCONNECTABLE,
    Applied,
    Detection,
    apply_grant_failure,
)
from relink.grants.refresh import refresh_grant
from relink.grants.service import open_credentials
from relink.models import DataSource, Grant, Incident
from relink.providers.answers import failure
from relink.providers.api_auth import api_auth
from relink.providers.classify import after_revocation
from relink.providers.http import NoAnswer
from relink.providers.revocation import Revocation
from relink.providers.spec_fields import fill_url
from relink.providers.taxonomy import DATA_SOURCE_LEVEL, GRANT_LEVEL, AuthKind, ErrorClass
from relink.status import GrantStatus
from relink.worker.context import JobContext

log = structlog.get_logger(__name__)

# How a failure was found, as incidents record it.
VIA_PROBE = "probe"
VIA_SIGNAL = "signal"


class Verdict(enum.StrEnum):
    OK = "ok"
    DISCONNECTED = "disconnected"
    TRANSIENT = "transient"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class CheckResult:
    verdict: Verdict
    error_class: ErrorClass | None = None


async def check_grant(
    ctx: JobContext,
    *,
    grant_id: int,
    via: str,
    evidence_at: datetime | None = None,
    revocation: Revocation | None = None,
) -> CheckResult:
    """Ask the provider whether grant ``grant_id`` still works; apply a definitive no, told
    with ``revocation``'s words when a provider's signal reported one."""
    async with ctx.database.transaction() as session:
        grant = await session.get(Grant, grant_id)
        if grant is None or grant.status is not GrantStatus.ACTIVE:
            return CheckResult(Verdict.SKIPPED)
        if grant.provider not in ctx.catalog:
            return CheckResult(Verdict.SKIPPED)
        spec = ctx.catalog.get(grant.provider)
        try:
            credentials = await open_credentials(session, box=ctx.box, grant=grant)
        except CredentialsUnreadable:
            return CheckResult(Verdict.SKIPPED)
        expired = grant.access_expires_at is not None and grant.access_expires_at <= ctx.now()
        auth_kind = grant.auth_kind
        # The token this check looks at; a refresh it asks for replaces only this one.
        generation = grant.token_generation
    url = spec.probe_url()
    if url is None:
        return CheckResult(Verdict.SKIPPED)
    revoked = revocation.said(spec.display_name) if revocation is not None else None
    if auth_kind is AuthKind.OAUTH2 and (expired or not credentials.get("access_token")):
        if via != VIA_SIGNAL:
            # The refresh schedule renews it; a refresh here would be a refresh just to look.
            return CheckResult(Verdict.SKIPPED)
        # A signal is evidence: the refresh the grant needs anyway answers it.
        return await _refresh_decides(
            ctx, grant_id, generation, via=via, evidence_at=evidence_at, revoked=revoked
        )
    auth = api_auth(spec, credentials)
    values = dict(auth.url_params)
    if auth_kind is AuthKind.OAUTH2:
        values["token"] = str(credentials["access_token"])
    called_at = ctx.now()
    try:
        answer = await ctx.http.request(
            spec.probe.method, auth.apply(fill_url(url, values)), headers=auth.headers
        )
    except NoAnswer:
        return CheckResult(Verdict.TRANSIENT)
    if answer.ok:
        return CheckResult(Verdict.OK)
    classification = failure(spec, answer, phase="api", operation="probe").classification
    error_class = classification.error_class
    evidence = evidence_at or called_at
    if error_class is ErrorClass.ACCESS_TOKEN_EXPIRED and auth_kind is AuthKind.OAUTH2:
        # Refused before its time: only the token endpoint can say whether the grant is dead.
        return await _refresh_decides(
            ctx, grant_id, generation, via=via, evidence_at=evidence, revoked=revoked
        )
    if error_class in GRANT_LEVEL:
        if revoked is not None:
            classification = after_revocation(classification, said=revoked)
        async with ctx.database.transaction() as session:
            grant = await session.get(Grant, grant_id, populate_existing=True)
            assert grant is not None
            await apply_grant_failure(
                session,
                grant=grant,
                classification=classification,
                now=ctx.now(),
                actor=f"system:{via}",
                detected_via=via,
                evidence_at=evidence,
            )
        return CheckResult(Verdict.DISCONNECTED, error_class)
    if error_class in DATA_SOURCE_LEVEL and auth_kind is not AuthKind.OAUTH2:
        # A key or password refused: each data source it serves needs a person.
        async with ctx.database.transaction() as session:
            grant = await session.get(Grant, grant_id, populate_existing=True)
            assert grant is not None
            sources = await session.scalars(
                select(DataSource).where(
                    DataSource.grant_id == grant_id, DataSource.status.in_(DISCONNECTABLE)
                )
            )
            for source in sources:
                applied = await apply_data_source_failure(
                    session,
                    source=source,
                    grant=grant,
                    classification=classification,
                    now=ctx.now(),
                    actor=f"system:{via}",
                    rng=ctx.rng,
                )
                await _stamp_in(session, applied, via=via, evidence_at=evidence)
        return CheckResult(Verdict.DISCONNECTED, error_class)
    log.info("signals.check.transient", provider=spec.key, error_class=error_class.value)
    return CheckResult(Verdict.TRANSIENT, error_class)


async def _refresh_decides(
    ctx: JobContext,
    grant_id: int,
    generation: int,
    *,
    via: str,
    evidence_at: datetime | None,
    revoked: str | None = None,
) -> CheckResult:
    """The token endpoint's answer decides: ``invalid_grant`` ends the grant (the refresh
    applies it, in the words ``revoked`` gives), a new token means the grant lives, anything
    else changes nothing."""
    found = DETECTION.set(Detection(via, evidence_at or ctx.now(), revoked=revoked))
    try:
        result = await refresh_grant(ctx, grant_id=grant_id, replacing=generation)
    finally:
        DETECTION.reset(found)
    if result.applied is not None and result.applied.error_class in GRANT_LEVEL:
        return CheckResult(Verdict.DISCONNECTED, result.applied.error_class)
    return CheckResult(Verdict.OK if result.failure is None else Verdict.TRANSIENT)


async def _stamp_in(
    session: AsyncSession, applied: Applied, *, via: str, evidence_at: datetime
) -> None:
    """An incident this check opened (through a path that records its own way) says ``via``."""
    if not applied.incident_created or applied.incident_id is None:
        return
    await session.execute(
        update(Incident)
        .where(Incident.id == applied.incident_id)
        .values(detected_via=via, evidence_at=evidence_at)
        .execution_options(synchronize_session=False)
    )
