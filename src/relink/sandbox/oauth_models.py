"""In-memory OAuth models: the registered client, authorization codes, tokens and token families.

They implement Authlib's mixins so Authlib's grants can use them unchanged. Every field is a
plain value, so `dataclasses.asdict` is their JSON form for persistence.
"""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass
from typing import Literal

from authlib.oauth2.rfc6749 import AuthorizationCodeMixin, ClientMixin, TokenMixin
from authlib.oauth2.rfc6749.util import list_to_scope, scope_to_list

# Google's own lifetime for an unused code; codes are single-use anyway.
AUTHORIZATION_CODE_TTL_SECONDS = 600
CLIENT_AUTH_METHODS = ("client_secret_basic", "client_secret_post")
GRANT_TYPES = ("authorization_code", "refresh_token")

RefreshStatus = Literal["active", "used", "revoked"]


@dataclass
class Client(ClientMixin):  # type: ignore[misc]
    client_id: str
    client_secret: str
    redirect_uris: list[str]
    scopes: tuple[str, ...]

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        # With several registered URIs the request must name one (RFC 6749 section 3.1.2.3).
        return self.redirect_uris[0] if len(self.redirect_uris) == 1 else None

    def get_allowed_scope(self, scope: str | None) -> str:
        if not scope:
            return str(list_to_scope(list(self.scopes)))
        return str(list_to_scope([s for s in scope_to_list(scope) if s in self.scopes]))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        # Exact string match only: no prefix or pattern matching (RFC 9700 section 4.1.3).
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return hmac.compare_digest(client_secret.encode(), self.client_secret.encode())

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in CLIENT_AUTH_METHODS

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in GRANT_TYPES


@dataclass
class AuthorizationCode(AuthorizationCodeMixin):  # type: ignore[misc]
    code: str
    client_id: str
    redirect_uri: str | None
    scope: str
    subject: str
    code_challenge: str | None
    code_challenge_method: str | None
    issued_at: float

    def get_redirect_uri(self) -> str | None:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def is_expired_at(self, now: float) -> bool:
        return now >= self.issued_at + AUTHORIZATION_CODE_TTL_SECONDS


@dataclass
class Family:
    """All tokens descending from one consent; reuse of a spent refresh token kills them all."""

    id: str
    subject: str
    client_id: str
    scope: str
    created_at: float
    revoked: bool = False
    revoked_reason: str | None = None


@dataclass
class Token(TokenMixin):  # type: ignore[misc]
    family_id: str
    subject: str
    client_id: str
    scope: str
    issued_at: float
    expires_in: int
    access_token: str | None = None
    refresh_token: str | None = None
    access_revoked: bool = False
    refresh_status: RefreshStatus = "active"
    # When this refresh token was spent, for the reuse grace period.
    refresh_used_at: float | None = None

    def check_client(self, client: Client) -> bool:
        return self.client_id == client.get_client_id()

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return self.expires_in

    def is_access_expired_at(self, now: float) -> bool:
        return now >= self.issued_at + self.expires_in

    def is_expired(self) -> bool:
        # Authlib's hook; the sandbox itself asks is_access_expired_at with its own clock.
        return self.is_access_expired_at(time.time())

    def is_revoked(self) -> bool:
        return self.access_revoked

    def get_user(self) -> str:
        return self.subject
