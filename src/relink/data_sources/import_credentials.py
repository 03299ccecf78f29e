"""The credentials an import calls its provider with, and the refresh it may need first."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from relink.errors import CredentialsUnreadable
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
    ctx: JobContext,
    *,
    grant_id: int,
    provider: str,
    auth_kind: AuthKind,
    refused_generation: int | None,
) -> tuple[int, dict[str, Any]]:
    """The grant's credentials for an import and their token generation, refreshing the access
    token first when it is no longer good, or when the provider refused the token of
    ``refused_generation`` (unless another caller replaced it already: then the current one is
    returned); ``RefreshFailed`` when that refresh fails."""
    oauth = auth_kind is AuthKind.OAUTH2
    refused = refused_generation is not None
    if oauth and (refused or not await _holds_usable_token(ctx, grant_id=grant_id)):
        result = await refresh_grant(ctx, grant_id=grant_id, replacing=refused_generation)
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
        generation = grant.token_generation
    if auth_kind is AuthKind.OAUTH2 and not credentials.get("access_token"):
        raise _transient(provider, "no access token yet")
    return generation, credentials


async def _holds_usable_token(ctx: JobContext, *, grant_id: int) -> bool:
    """Whether the grant's access token can be used as it is, without a refresh first."""
    async with ctx.database.transaction() as session:
        grant = await session.get(Grant, grant_id)
        if grant is None:
            return False
        return await holds_usable_token(ctx, grant=grant, session=session)


async def holds_usable_token(ctx: JobContext, *, grant: Grant, session: AsyncSession) -> bool:
    """Whether ``grant``'s access token can be used as it is, without a refresh first.

    A token with a stated lifetime: while it stays valid ``TOKEN_VALID_FOR_IMPORT`` longer.
    One without: while the provider accepts it (a rejection refreshes on the spot).
    """
    if grant.auth_kind is not AuthKind.OAUTH2:
        return True
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


class GrantCredentials:
    """One grant's credentials for a batch of imports: read and decrypted once, refreshed at
    most once when the provider rejects them, and a failure decided once for every import of
    the grant (the first to meet it applies it; the others receive it, ``joined``)."""

    def __init__(self, ctx: JobContext, *, grant_id: int, provider: str, auth_kind: AuthKind):
        self._ctx = ctx
        self._grant_id = grant_id
        self._provider = provider
        self._auth_kind = auth_kind
        self._lock = asyncio.Lock()
        # The grant's token generation of the credentials held (``Grant.token_generation``).
        self._generation = 0
        self._credentials: dict[str, Any] | None = None
        self._error: Exception | None = None
        self._error_taken = False

    async def get(self) -> tuple[int, dict[str, Any]]:
        """The credentials and their generation (to say which ones a provider rejected)."""
        async with self._lock:
            if self._credentials is None and self._error is None:
                await self._load(refused_generation=None)
            return self._current()

    async def after_rejection(self, generation: int) -> tuple[int, dict[str, Any]]:
        """The provider said the access token of ``generation`` is no good: refresh once (the
        refresh decides whether the grant itself is dead, and refreshes only if no one else,
        in any process, replaced that token already); later callers get its result."""
        async with self._lock:
            if generation == self._generation and self._error is None:
                await self._load(refused_generation=generation)
            return self._current()

    async def _load(self, *, refused_generation: int | None) -> None:
        try:
            self._generation, self._credentials = await credentials_for_import(
                self._ctx,
                grant_id=self._grant_id,
                provider=self._provider,
                auth_kind=self._auth_kind,
                refused_generation=refused_generation,
            )
        except (RefreshFailed, ProviderFailure, CredentialsUnreadable) as error:
            self._error = error

    def _current(self) -> tuple[int, dict[str, Any]]:
        error = self._error
        if error is not None:
            first = not self._error_taken
            self._error_taken = True
            if first or not isinstance(error, RefreshFailed) or error.result.applied is None:
                raise error
            # What the refresh applied is applied (and counted) once, by the first import.
            shared = RefreshResult(error.result.outcome, error.failure, joined=True)
            raise RefreshFailed(shared, error.failure)
        assert self._credentials is not None
        return self._generation, self._credentials
