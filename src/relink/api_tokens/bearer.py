"""``Authorization: Bearer <token>`` as a request carries it: read, declared, and kept apart
from the browser's cookie.

A request that carries an Authorization header is a script's: it is answered by its token
alone (a cookie it also carries is neither read nor written), it needs no CSRF token (a page
of another site cannot make a browser send this header without a CORS preflight, which
Relink never grants), and it never leaves with a session cookie.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.security import APIKeyCookie, HTTPBearer
from starlette.middleware.sessions import Session

from relink.api_tokens.errors import MalformedAuthorization, ReadOnlyToken
from relink.api_tokens.values import TokenValue, parse_value
from relink.models import TokenScope

HEADER = "authorization"
# What a read-only token may ask: reading, and asking what may be asked.
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SESSION_COOKIE = "relink_session"


class _Cookieless(Session):
    """A session that is never saved: whatever a handler puts in it (a CSRF token, an OAuth
    nonce) lives for this request only, and SessionMiddleware sends no cookie for it."""

    def mark_modified(self) -> None:
        self.accessed = True


def carries_token(request: Request) -> bool:
    """Whether the request brings an Authorization header; if so its session becomes one that
    is never saved (the cookie's contents are not read either: the token alone answers)."""
    if HEADER not in request.headers:
        return False
    if not isinstance(request.scope.get("session"), _Cookieless):
        request.scope["session"] = _Cookieless()
    return True


class BearerToken(HTTPBearer):
    """The token a request carries, or None without an Authorization header; a header that is
    not ``Bearer rlk_…`` is refused (401) with the expected form.

    An ``HTTPBearer``, so every operation that depends on it declares the bearer scheme in
    the OpenAPI document.
    """

    async def __call__(self, request: Request) -> TokenValue | None:  # type: ignore[override]
        if not carries_token(request):
            return None
        scheme, _, credentials = request.headers[HEADER].strip().partition(" ")
        value = parse_value(credentials.strip()) if scheme.lower() == "bearer" else None
        if value is None:
            raise MalformedAuthorization()
        return value


bearer_token = BearerToken(
    bearerFormat="rlk_…",
    scheme_name="ApiToken",
    description="A personal API token (Settings, API tokens; or `relink tokens create`), "
    "sent as `Authorization: Bearer rlk_…`. Read-only tokens may only GET.",
    auto_error=False,
)
# Declared only, for the OpenAPI document: the pages' and browsers' way in.
session_cookie = APIKeyCookie(
    name=SESSION_COOKIE,
    scheme_name="SessionCookie",
    description="The signed-in browser's session (unsafe methods also need X-CSRF-Token).",
    auto_error=False,
)


def ensure_method_allowed(scope: TokenScope, method: str) -> None:
    """A read-only token may only read: anything else is refused (403) saying so."""
    if scope is TokenScope.READ and method not in READ_METHODS:
        raise ReadOnlyToken(method)
