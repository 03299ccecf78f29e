"""OAuth endpoints: authorize (sign-in + consent), token, revoke, and RFC 8414 metadata."""

from __future__ import annotations

import hmac
from typing import Any

from authlib.oauth2.rfc6749 import OAuth2Error
from authlib.oauth2.rfc6749.util import scope_to_list
from fastapi import APIRouter, Request
from starlette.datastructures import FormData
from starlette.responses import Response

from relink.sandbox.consent import render_consent, render_error_page
from relink.sandbox.deps import OAuthServer, Sandbox
from relink.sandbox.fault_gate import CallContext, pass_fault_gate
from relink.sandbox.oauth_adapter import read_request
from relink.sandbox.oauth_models import CLIENT_AUTH_METHODS, GRANT_TYPES
from relink.sandbox.oauth_server import SandboxAuthorizationServer
from relink.sandbox.seed import SCOPES, Identity
from relink.sandbox.state import SandboxState
from relink.sandbox.world import find_identity

router = APIRouter()

AUTHORIZE_PATH = "/oauth/authorize"
TOKEN_PATH = "/oauth/token"  # noqa: S105  (a path, not a secret)
REVOKE_PATH = "/oauth/revoke"


@router.get("/.well-known/oauth-authorization-server")
async def metadata(request: Request) -> dict[str, Any]:
    base = str(request.base_url).rstrip("/")
    return {
        "issuer": base,
        "authorization_endpoint": base + AUTHORIZE_PATH,
        "token_endpoint": base + TOKEN_PATH,
        "revocation_endpoint": base + REVOKE_PATH,
        "userinfo_endpoint": base + "/api/me",
        "response_types_supported": ["code"],
        "grant_types_supported": list(GRANT_TYPES),
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": list(CLIENT_AUTH_METHODS),
        "revocation_endpoint_auth_methods_supported": list(CLIENT_AUTH_METHODS),
        "scopes_supported": list(SCOPES),
    }


@router.get(AUTHORIZE_PATH)
async def authorize_page(request: Request, server: OAuthServer) -> Response:
    parsed = await read_request(request)
    try:
        grant = server.get_consent_grant(parsed, end_user=None)
    except OAuth2Error as error:
        return _authorization_error(server, error)
    return render_consent(
        action_url=_self_url(request),
        scopes=scope_to_list(grant.request.scope) or [],
        email=request.query_params.get("login_hint", ""),
        error=None,
    )


@router.post(AUTHORIZE_PATH)
async def authorize_decision(request: Request, server: OAuthServer, state: Sandbox) -> Response:
    parsed = await read_request(request)
    try:
        grant = server.get_consent_grant(parsed, end_user=None)
    except OAuth2Error as error:
        return _authorization_error(server, error)
    if _form_value(parsed.form, "decision") != "allow":
        # Authlib redirects back with error=access_denied and the client's state.
        response: Response = server.create_authorization_response(parsed, None, grant)
        return response
    email = _form_value(parsed.form, "email")
    identity = _sign_in(state, email, _form_value(parsed.form, "password"))
    if identity is None:
        return render_consent(
            action_url=_self_url(request),
            scopes=scope_to_list(grant.request.scope) or [],
            email=email,
            error="Wrong e-mail or password.",
            status_code=401,
        )
    response = server.create_authorization_response(parsed, identity, grant)
    return response


@router.post(TOKEN_PATH)
async def token(request: Request, server: OAuthServer, state: Sandbox) -> Response:
    parsed = await read_request(request)
    grant_type = _form_value(parsed.form, "grant_type") or "missing"
    subject, family_id = _whose_token_request(state, parsed.form, grant_type)
    state.stats.token_requests[grant_type] += 1
    if subject is not None:
        state.stats.token_requests_by_subject[subject] += 1
    if family_id is not None:
        state.stats.token_requests_by_family[family_id] += 1
    await pass_fault_gate(request, state, CallContext("oauth", subject=subject))
    response: Response = server.create_token_response(parsed)
    return response


@router.post(REVOKE_PATH)
async def revoke(request: Request, server: OAuthServer, state: Sandbox) -> Response:
    parsed = await read_request(request)
    value = _form_value(parsed.form, "token")
    known = state.tokens_by_access.get(value) or state.tokens_by_refresh.get(value)
    subject = known.subject if known is not None else None
    await pass_fault_gate(request, state, CallContext("oauth", subject=subject))
    response: Response = server.create_endpoint_response("revocation", parsed)
    return response


def _authorization_error(server: SandboxAuthorizationServer, error: OAuth2Error) -> Response:
    if error.redirect_uri:
        # The client and its redirect URI are known good: tell the client (RFC 6749 4.1.2.1).
        response: Response = server.handle_error_response(None, error)
        return response
    # Unknown client or redirect URI: never redirect to an unverified place; tell the person.
    return render_error_page(title="This sign-in link is not valid", message=error.description)


def _sign_in(state: SandboxState, email: str, password: str) -> Identity | None:
    identity = find_identity(state.world, email) if email else None
    if identity is None or identity.email.lower() != email.strip().lower():
        return None
    if not hmac.compare_digest(identity.password.encode(), password.encode()):
        return None
    return identity


def _whose_token_request(
    state: SandboxState, form: FormData, grant_type: str
) -> tuple[str | None, str | None]:
    """The identity and token family a token request concerns, for counters and fault targets."""
    if grant_type == "refresh_token":
        found = state.tokens_by_refresh.get(_form_value(form, "refresh_token"))
        return (found.subject, found.family_id) if found else (None, None)
    if grant_type == "authorization_code":
        code = state.codes.get(_form_value(form, "code"))
        return (code.subject, None) if code else (None, None)
    return None, None


def _form_value(form: FormData, key: str) -> str:
    value = form.get(key)
    return value if isinstance(value, str) else ""


def _self_url(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")
