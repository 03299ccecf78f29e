"""Who is calling the data API: an OAuth access token or an API key, checked once per request.

The fault gate runs after the caller is identified but before credential errors are raised, so
a targeted fault sees its target even when it also breaks the credentials.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from fastapi import Request

from relink.sandbox.deps import Sandbox
from relink.sandbox.errors import (
    ApiError,
    invalid_api_key,
    token_expired,
    unauthenticated,
)
from relink.sandbox.fault_gate import CallContext, pass_fault_gate
from relink.sandbox.faults import FaultKind
from relink.sandbox.oauth_models import Token
from relink.sandbox.seed import API_KEY_PREFIX, Identity
from relink.sandbox.state import SandboxState
from relink.sandbox.world import find_identity

CredentialKind = Literal["token", "api_key"]


@dataclass(frozen=True)
class Caller:
    kind: CredentialKind
    # OAuth callers.
    identity: Identity | None = None
    token: Token | None = None
    # API-key callers: the one account the key opens.
    key_account: str | None = None

    @property
    def subject(self) -> str | None:
        return self.identity.subject if self.identity else None


class RequireCaller:
    """Dependency: the authenticated caller of one data API route."""

    def __init__(self, route: str, accepts: frozenset[CredentialKind]) -> None:
        self.route = route
        self.accepts = accepts

    async def __call__(self, request: Request, state: Sandbox) -> Caller:
        credential = _credential(request)
        path_account = request.path_params.get("account_id")
        state.stats.api_requests[self.route] += 1
        if path_account:
            state.stats.api_requests_by_account[path_account] += 1
        # The caller is known even when its credential is refused, so faults can target it.
        caller, problem = _resolve(state, credential)
        if caller is not None and caller.kind not in self.accepts:
            problem = _wrong_kind(self.accepts)
        account = path_account or (caller.key_account if caller else None)
        subject = caller.subject if caller else None
        await pass_fault_gate(request, state, CallContext("api", subject=subject, account=account))
        if problem is not None:
            raise problem
        assert caller is not None
        return caller


def _credential(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.headers.get("x-api-key") or None


def _resolve(state: SandboxState, credential: str | None) -> tuple[Caller | None, ApiError | None]:
    if credential is None:
        return None, unauthenticated("Missing bearer credentials.")
    if credential.startswith(API_KEY_PREFIX):
        account_id = state.account_for_api_key(credential)
        if account_id is None:
            return None, invalid_api_key()
        return Caller("api_key", key_account=account_id), None
    token = state.tokens_by_access.get(credential)
    if token is None:
        return None, unauthenticated()
    identity = find_identity(state.world, token.subject)
    family = state.family_of(token)
    caller = Caller("token", identity=identity, token=token)
    if identity is None or token.access_revoked or family.revoked:
        return caller, unauthenticated("The access token was revoked.")
    if _strikes(state, FaultKind.REVOKE_GRANT, token, born_at=family.created_at):
        return caller, unauthenticated("The grant was revoked.")
    # Access tokens issued before an end_access fault are over; the ones after it work.
    if _strikes(state, FaultKind.END_ACCESS, token, born_at=token.issued_at):
        return caller, token_expired()
    if token.is_access_expired_at(state.now()):
        return caller, token_expired()
    return caller, None


def _strikes(state: SandboxState, kind: FaultKind, token: Token, *, born_at: float) -> bool:
    """Whether a grant-level fault of ``kind`` hits what was born at ``born_at`` (counted)."""
    fault = state.faults.find_for_family(
        kind, now=state.now(), subject=token.subject, family_created_at=born_at
    )
    if fault is not None:
        state.stats.faults_triggered[kind] += 1
    return fault is not None


def _wrong_kind(accepts: frozenset[CredentialKind]) -> ApiError:
    if accepts == frozenset({"api_key"}):
        return invalid_api_key()
    return unauthenticated("This endpoint needs an OAuth access token.")
