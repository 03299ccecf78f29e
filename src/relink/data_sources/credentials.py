"""Re-verifying one data source's API key: trimmed, checked against the format, tested live.

The key is never logged, returned or kept anywhere but sealed in its grant; a refused key
changes nothing, so the old one keeps working until a good one replaces it.
"""

from __future__ import annotations

from datetime import datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from relink.auth.access import is_staff_or_admin
from relink.data_sources.gaps import backfill_start
from relink.data_sources.service import get_data_source
from relink.errors import Forbidden, InvalidInput, RelinkError
from relink.events import service as events
from relink.grants.service import store_credentials
from relink.incidents import service as incidents
from relink.models import DataSource, Grant, SyncTrigger, User
from relink.notifications.outgoing import emit_for_data_sources
from relink.providers.data_api import verify_api_key
from relink.providers.results import ProviderFailure
from relink.providers.spec import ApiKeySpec, ProviderSpec
from relink.providers.taxonomy import DATA_SOURCE_LEVEL, GRANT_LEVEL, AuthKind, ErrorClass
from relink.status import DataSourceStatus, GrantStatus
from relink.status_writer import may_become_grant, transition_many
from relink.worker.context import JobContext
from relink.worker.enqueue import enqueue
from relink.worker.registry import JobName

log = structlog.get_logger(__name__)

# Down for a reason a new key repairs. Grant-level reasons count too: an API-key grant has one
# data source, and Relink revokes it itself when that source goes to the trash.
REPAIRED_BY_NEW_KEY = DATA_SOURCE_LEVEL | GRANT_LEVEL


# Refusals from Relink's own check of the key's shape: the provider was never asked.
FORMAT_REASONS = frozenset({"empty", "whitespace", "wrong_case", "format"})


class KeyRefused(RelinkError):
    """The key was not saved; ``reason`` names what was wrong, for the form to show.

    ``title`` heads the refusal and says who refused: Relink's format check ("This doesn't
    look like a … key") or the provider, asked live ("… refused this key"). ``message`` is the
    title and the explanation in one sentence, for the API and every other reader.
    """

    status_code = 422

    def __init__(self, explanation: str, *, reason: str, provider: str) -> None:
        self.reason = reason
        self.checked_live = reason not in FORMAT_REASONS
        self.title = _title(reason, provider)
        self.explanation = explanation
        joiner = ": " if explanation[:1].islower() else ". "
        super().__init__(f"{self.title}{joiner}{explanation}")


def _title(reason: str, provider: str) -> str:
    if reason == "empty":
        return "No API key was entered"
    if reason in FORMAT_REASONS:
        return f"This doesn't look like a {provider} key"
    if reason == "wrong_account":
        return f"This key opens another {provider} account"
    return f"{provider} refused this key"


class KeyNotVerified(RelinkError):
    """The provider could not be asked just now; nothing was saved."""

    status_code = 503

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def checked_key(spec: ProviderSpec, raw_key: str) -> str:
    """The trimmed key, or ``KeyRefused`` saying what is wrong with its shape (nothing is sent
    to the provider until the shape is right)."""
    key_spec = _key_spec(spec)
    key = raw_key.strip()
    name = spec.short_name
    if not key:
        raise KeyRefused(f"paste the {name} API key", reason="empty", provider=name)
    if any(character.isspace() for character in key):
        raise KeyRefused(
            "remove the space inside the key: it was probably copied across two lines",
            reason="whitespace",
            provider=name,
        )
    if key_spec.matches(key):
        return key
    if any(key_spec.matches(variant) for variant in (key.lower(), key.upper(), key.swapcase())):
        raise KeyRefused(
            "API keys are case-sensitive: this one matches the format only with its letters in "
            "another case; paste it exactly as the provider shows it",
            reason="wrong_case",
            provider=name,
        )
    raise KeyRefused(f"a key {key_spec.format_hint}", reason="format", provider=name)


async def reverify_api_key(
    session: AsyncSession,
    *,
    ctx: JobContext,
    user: User,
    data_source_id: int,
    raw_key: str,
    now: datetime,
) -> DataSource:
    """Test a new key live and, when the provider accepts it, seal it and repair the source."""
    if not is_staff_or_admin(user):
        raise Forbidden("only agency staff and admins can change a data source's API key")
    source = await get_data_source(session, user=user, data_source_id=data_source_id)
    grant = await session.get(Grant, source.grant_id)
    assert grant is not None
    if grant.auth_kind is not AuthKind.API_KEY:
        raise InvalidInput("this data source signs in with its provider, not a key: use Reconnect")
    if source.status is DataSourceStatus.REMOVED:
        raise InvalidInput("this data source is in the trash: restore it first")
    spec = ctx.catalog.get(source.provider)
    key = checked_key(spec, raw_key)
    try:
        identity = await verify_api_key(ctx.http, spec, key=key)
    except ProviderFailure as failure:
        raise refusal(spec, failure) from None
    if identity.id and identity.id != source.external_account_id:
        opens = f"{identity.name} ({identity.id})" if identity.name else identity.id
        raise KeyRefused(
            f"it opens {opens}, not {source.external_account_name} "
            f"({source.external_account_id}): enter the key of that account",
            reason="wrong_account",
            provider=spec.short_name,
        )
    store_credentials(box=ctx.box, grant=grant, credentials={"api_key": key})
    if identity.name:
        grant.identity_name = identity.name
    await _reactivate_grant(session, grant=grant, user=user, now=now)
    repaired = (
        source.status is DataSourceStatus.DISCONNECTED
        and source.status_reason in REPAIRED_BY_NEW_KEY
    )
    if repaired:
        await _reconnect(session, source=source, grant=grant, user=user, now=now)
    await session.flush()
    log.info(
        "data_source.credentials.replaced",
        data_source_id=source.id,
        provider=source.provider,
        reconnected=repaired,
    )
    return source


async def _reconnect(
    session: AsyncSession, *, source: DataSource, grant: Grant, user: User, now: datetime
) -> None:
    # The event keeps the why; a connected source shows no reason.
    await transition_many(
        session,
        [source.id],
        to=DataSourceStatus.CONNECTED,
        reason="a new API key was verified",
        actor=events.user_actor(user),
        now=now,
    )
    source.consecutive_failures = 0
    source.next_sync_at = now
    gap = backfill_start(source, now=now)
    if gap is not None:
        source.backfill_from = gap
    keys = [incidents.data_source_key(source.id, c) for c in DATA_SOURCE_LEVEL]
    keys.append(incidents.grant_key(grant.id, ErrorClass.AUTH_REVOKED))
    await incidents.resolve(
        session, agency_id=source.agency_id, keys=keys, now=now, by=events.user_actor(user)
    )
    await emit_for_data_sources(
        session,
        agency_id=source.agency_id,
        event="data_source.reconnected",
        data_source_ids=[source.id],
        error_class=None,
        hint=None,
        now=now,
    )
    enqueue(session, JobName.IMPORT, data_source_id=source.id, trigger=SyncTrigger.BACKFILL)


async def _reactivate_grant(
    session: AsyncSession, *, grant: Grant, user: User, now: datetime
) -> None:
    """A verified key makes its grant usable again, whatever ended it."""
    await transition_many(
        session,
        [grant.id],
        to=GrantStatus.ACTIVE,
        only_from=may_become_grant(GrantStatus.ACTIVE),
        reason="a new API key was verified",
        actor=events.user_actor(user),
        now=now,
    )


def refusal(spec: ProviderSpec, failure: ProviderFailure) -> RelinkError:
    """The provider's live answer to a key: a definitive "no" says what was wrong (naming the
    missing permission when that was it); an outage or rate limit says try again."""
    classification = failure.classification
    said = classification.hint
    if classification.detail:
        said = f"{said} The provider said: {classification.detail}"
    log.info(
        "data_source.credentials.refused",
        provider=spec.key,
        error_class=failure.error_class.value,
        provider_code=classification.provider_code,
    )
    if classification.disconnects:
        return KeyRefused(said, reason=failure.error_class.value, provider=spec.short_name)
    # An outage or a rate limit says nothing about the key: nothing saved, try again.
    return KeyNotVerified(
        f"{spec.short_name} could not check the key just now, so it was not saved; "
        f"try again in a moment. {classification.hint}",
        reason=failure.error_class.value,
    )


def _key_spec(spec: ProviderSpec) -> ApiKeySpec:
    if spec.api_key is None:
        raise InvalidInput(f"{spec.display_name} does not use API keys")
    return spec.api_key
