"""The sandbox's OAuth 2.0 authorization server, built from Authlib's grants.

Authorization code with PKCE (S256 only, required), refresh tokens that rotate with reuse
detection (RFC 9700 section 4.14.2), and RFC 7009 revocation.
"""

from __future__ import annotations

from typing import Any

from authlib.common.security import generate_token
from authlib.oauth2.rfc6749 import (
    AuthorizationCodeGrant,
    InvalidGrantError,
    InvalidRequestError,
    OAuth2Request,
    RefreshTokenGrant,
)
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7636.challenge import compare_s256_code_challenge

from relink.sandbox.faults import FaultKind
from relink.sandbox.oauth_adapter import StarletteAuthorizationServer
from relink.sandbox.oauth_models import (
    CLIENT_AUTH_METHODS,
    AuthorizationCode,
    Client,
    Token,
)
from relink.sandbox.seed import SCOPES, Identity
from relink.sandbox.state import SandboxState
from relink.sandbox.world import find_identity

# Prefixes make a leaked sandbox token recognisable at a glance; they are not secrets.
ACCESS_TOKEN_PREFIX = "sbx_at_"  # noqa: S105
REFRESH_TOKEN_PREFIX = "sbx_rt_"  # noqa: S105
# Google's wording, which real clients already match on.
EXPIRED_OR_REVOKED = "Token has been expired or revoked."
DAY_SECONDS = 24 * 3600
REUSE_DETECTED = "Refresh token was already used; every token of this grant is now revoked."


class S256CodeChallenge(CodeChallenge):  # type: ignore[misc]
    """PKCE for every client, confidential ones too, and only with S256 (RFC 9700 section 2.1.1).

    Authlib's CodeChallenge(required=True) insists only for public clients and accepts "plain".
    """

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    CODE_CHALLENGE_METHODS = {"S256": compare_s256_code_challenge}

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("Missing 'code_challenge': PKCE with S256 is required.")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("Unsupported 'code_challenge_method': only S256 is allowed.")
        super().validate_code_challenge(grant, redirect_uri)


class SandboxAuthorizationCodeGrant(AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = list(CLIENT_AUTH_METHODS)

    @property
    def sandbox(self) -> SandboxState:
        state: SandboxState = self.server.sandbox_state
        return state

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        data = request.payload.data
        self.sandbox.save_code(
            AuthorizationCode(
                code=code,
                client_id=request.client.get_client_id(),
                redirect_uri=request.payload.redirect_uri,
                scope=request.scope,
                subject=request.user.subject,
                code_challenge=data.get("code_challenge"),
                code_challenge_method=data.get("code_challenge_method"),
                issued_at=self.sandbox.now(),
            )
        )

    def query_authorization_code(self, code: str, client: Client) -> AuthorizationCode | None:
        found = self.sandbox.find_code(code)
        if found is None:
            # A replayed code: revoke what it issued (RFC 6749 section 4.1.2).
            family_id = self.sandbox.spent_codes.get(code)
            if family_id is not None:
                self.sandbox.revoke_family(family_id, "authorization code replayed")
            return None
        return found if found.client_id == client.get_client_id() else None

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        self.sandbox.spend_code(authorization_code, self.request.sandbox_family_id)

    def authenticate_user(self, authorization_code: AuthorizationCode) -> Identity | None:
        return find_identity(self.sandbox.world, authorization_code.subject)


class SandboxRefreshTokenGrant(RefreshTokenGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = list(CLIENT_AUTH_METHODS)
    # Rotation: every refresh answers a new refresh token and spends the old one.
    INCLUDE_NEW_REFRESH_TOKEN = True

    @property
    def sandbox(self) -> SandboxState:
        state: SandboxState = self.server.sandbox_state
        return state

    def authenticate_refresh_token(self, refresh_token: str) -> Token:
        state = self.sandbox
        token = state.tokens_by_refresh.get(refresh_token)
        if token is None:
            raise InvalidGrantError("Unknown refresh token.")
        family = state.family_of(token)
        if state.in_reuse_grace(token) and not family.revoked:
            state.stats.refresh_token_grace_reuse += 1
        elif token.refresh_status == "used" and not family.revoked:
            state.stats.refresh_token_reuse_detected += 1
            state.revoke_family(family.id, "refresh token reused")
            raise InvalidGrantError(REUSE_DETECTED)
        if family.revoked or token.refresh_status == "revoked":
            raise InvalidGrantError(EXPIRED_OR_REVOKED)
        identity = find_identity(state.world, token.subject)
        lifetime = identity.grant_lifetime_days if identity is not None else None
        if lifetime is not None and state.now() - family.created_at > lifetime * DAY_SECONDS:
            raise InvalidGrantError(EXPIRED_OR_REVOKED)
        for kind in (FaultKind.REVOKE_GRANT, FaultKind.EXPIRE_REFRESH):
            fault = state.faults.find_for_family(
                kind, now=state.now(), subject=token.subject, family_created_at=family.created_at
            )
            if fault is not None:
                state.stats.faults_triggered[kind] += 1
                raise InvalidGrantError(EXPIRED_OR_REVOKED)
        return token

    def authenticate_user(self, refresh_token: Token) -> Identity | None:
        return find_identity(self.sandbox.world, refresh_token.subject)

    def revoke_old_credential(self, refresh_token: Token) -> None:
        self.sandbox.mark_refresh_used(refresh_token)


class SandboxRevocationEndpoint(RevocationEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = list(CLIENT_AUTH_METHODS)

    def query_token(self, token_string: str, token_type_hint: str | None) -> Token | None:
        state: SandboxState = self.server.sandbox_state
        by_access = state.tokens_by_access.get(token_string)
        by_refresh = state.tokens_by_refresh.get(token_string)
        # The hint only orders the search (RFC 7009 section 2.1).
        if token_type_hint == "refresh_token":  # noqa: S105  (a token type name)
            return by_refresh or by_access
        return by_access or by_refresh

    def revoke_token(self, token: Token, request: OAuth2Request) -> None:
        state: SandboxState = self.server.sandbox_state
        if request.form.get("token") == token.refresh_token:
            # Revoking a refresh token ends the grant: the whole family goes.
            state.revoke_family(token.family_id, "refresh token revoked by the client")
        else:
            state.revoke_access_token(token)


class SandboxAuthorizationServer(StarletteAuthorizationServer):
    def __init__(self, state: SandboxState) -> None:
        super().__init__(scopes_supported=list(SCOPES))
        self.sandbox_state = state
        self.register_token_generator(
            "default",
            BearerTokenGenerator(
                access_token_generator=lambda **_: ACCESS_TOKEN_PREFIX + generate_token(40),
                refresh_token_generator=lambda **_: REFRESH_TOKEN_PREFIX + generate_token(48),
                expires_generator=lambda client, grant_type: state.access_token_ttl,
            ),
        )
        self.register_grant(SandboxAuthorizationCodeGrant, [S256CodeChallenge(required=True)])
        self.register_grant(SandboxRefreshTokenGrant)
        self.register_endpoint(SandboxRevocationEndpoint)

    def query_client(self, client_id: str) -> Client | None:
        client = self.sandbox_state.client
        return client if client_id == client.client_id else None

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        state = self.sandbox_state
        if request.payload.grant_type == "authorization_code":
            code: AuthorizationCode = request.authorization_code
            family = state.start_family(code.subject, code.client_id, code.scope)
            request.sandbox_family_id = family.id
        else:
            family = state.family_of(request.refresh_token)
        state.store_token(
            Token(
                family_id=family.id,
                subject=family.subject,
                client_id=family.client_id,
                scope=token.get("scope") or family.scope,
                issued_at=state.now(),
                expires_in=int(token.get("expires_in", state.access_token_ttl)),
                access_token=token["access_token"],
                refresh_token=token.get("refresh_token"),
            )
        )
