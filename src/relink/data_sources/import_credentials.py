"""The credentials an import calls its provider with, and the refresh it may need first."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from relink.grants.refresh import Outcome, RefreshResult, refresh_grant
from relink.grants.service import open_credentials
from relink.models import Grant
from relink.providers.classify import Classification
from relink.providers.results import ProviderFailure
from relink.providers.taxonomy import AuthKind, ErrorClass
from relink.status import GrantStatus
from relink.worker.context import JobContext

# An import uses the access token it holds while it stays valid this much longer. The schedule
# refreshes ahead of expiry; refreshing here on the schedule's wider margin would refresh a
# short-lived token once per data source, and a token the provider calls expired is refreshed
# on the spot anyway.
TOKEN_VALID_FOR_IMPORT = timedelta(seconds=30)


class RefreshFailed(Exception):
    """The refresh an import needed failed; carries the refresh's typed result, which says
    whether the refresh already applied the failure (``result.applied``)."""

    def __init__(self, result: RefreshResult, failure: ProviderFailure) -> None:
        super().__init__(str(failure))
        self.result = result
        self.failure = failure


async def credentials_for_import(
    ctx: JobContext, *, grant_id: int, provider: str, auth_kind: AuthKind, force_refresh: bool
) -> dict[str, Any]:
    """The grant's credentials for an import, refreshing the access token first when it is
    (or the provider says it is) no longer good; ``RefreshFailed`` when that refresh fails."""
    oauth = auth_kind is AuthKind.OAUTH2
    if oauth and (force_refresh or not await _holds_usable_token(ctx, grant_id=grant_id)):
        result = await refresh_grant(ctx, grant_id=grant_id, force=force_refresh)
        if result.failure is not None:
            raise RefreshFailed(result, result.failure)
        if result.outcome is Outcome.BUSY:
            raise _transient(provider, "another worker is still refreshing this grant")
    async with ctx.database.transaction() as session:
        grant = await session.get(Grant, grant_id, populate_existing=True)
        assert grant is not None
        if grant.status is not GrantStatus.ACTIVE:
            raise _transient(provider, "the grant went down while this import waited")
        credentials = await open_credentials(session, box=ctx.box, grant=grant)
    if auth_kind is AuthKind.OAUTH2 and not credentials.get("access_token"):
        raise _transient(provider, "no access token yet")
    return credentials


async def _holds_usable_token(ctx: JobContext, *, grant_id: int) -> bool:
    """Whether the grant's access token can be used as it is, without a refresh first.

    A token with a stated lifetime: while it stays valid ``TOKEN_VALID_FOR_IMPORT`` longer.
    One without: while the provider accepts it (a rejection refreshes on the spot).
    """
    async with ctx.database.transaction() as session:
        grant = await session.get(Grant, grant_id)
        if grant is None:
            return False
        if grant.status is not GrantStatus.ACTIVE:
            return True  # nothing to refresh; reading the credentials reports it
        if grant.access_expires_at is not None:
            return grant.access_expires_at > ctx.now() + TOKEN_VALID_FOR_IMPORT
        credentials = await open_credentials(session, box=ctx.box, grant=grant)
    return bool(credentials.get("access_token"))


def _transient(provider: str, detail: str) -> ProviderFailure:
    classification = Classification(
        ErrorClass.PROVIDER_UNAVAILABLE, "Relink will retry shortly.", detail=detail
    )
    return ProviderFailure(classification, provider=provider, operation="import")
