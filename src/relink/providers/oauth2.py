"""OAuth 2.0 against any standards-following server: RFC 6749, 7636 (PKCE) and 7009 (revoke)."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote_plus, urlencode

import aiohttp
from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from relink.providers.answers import data_error, failure, json_body, no_answer
from relink.providers.http import Answer, HttpClient, NoAnswer
from relink.providers.json_path import first
from relink.providers.results import AppCredentials, ExternalIdentity, TokenSet
from relink.providers.spec import OAuth2Spec, ProviderSpec

# RFC 7636: a verifier of 43-128 characters; 64 gives 384 bits of entropy.
CODE_VERIFIER_LENGTH = 64


def oauth_section(spec: ProviderSpec) -> OAuth2Spec:
    if spec.oauth is None:
        raise ValueError(f"{spec.key} is not an OAuth 2.0 provider")
    return spec.oauth


def new_code_verifier() -> str:
    return str(generate_token(CODE_VERIFIER_LENGTH))


def authorization_url(
    spec: ProviderSpec,
    *,
    app: AppCredentials,
    state: str,
    code_verifier: str | None,
    login_hint: str | None = None,
) -> str:
    """The provider's consent page for our app, with state, PKCE S256 and a login hint."""
    oauth = oauth_section(spec)
    params: dict[str, str] = {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": app.redirect_uri,
        "scope": oauth.scope_separator.join(oauth.scopes),
        "state": state,
        **oauth.authorize_params,
    }
    if oauth.pkce and code_verifier:
        params["code_challenge"] = create_s256_code_challenge(code_verifier)
        params["code_challenge_method"] = "S256"
    if oauth.login_hint and login_hint:
        params["login_hint"] = login_hint
    separator = "&" if "?" in oauth.authorize_url else "?"
    return f"{oauth.authorize_url}{separator}{urlencode(params)}"


async def exchange_code(
    http: HttpClient,
    spec: ProviderSpec,
    *,
    app: AppCredentials,
    code: str,
    code_verifier: str | None,
    now: datetime,
) -> TokenSet:
    """Trade an authorization code for tokens, once."""
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": app.redirect_uri}
    if oauth_section(spec).pkce and code_verifier:
        form["code_verifier"] = code_verifier
    return await _token_request(http, spec, app=app, form=form, now=now, operation="exchange")


async def refresh(
    http: HttpClient, spec: ProviderSpec, *, app: AppCredentials, refresh_token: str, now: datetime
) -> TokenSet:
    """Use a refresh token; with rotating providers the answer carries its successor."""
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    return await _token_request(http, spec, app=app, form=form, now=now, operation="refresh")


async def revoke(
    http: HttpClient, spec: ProviderSpec, *, app: AppCredentials, token: str, hint: str
) -> None:
    """RFC 7009: revoke a token (a refresh token ends its whole grant at most providers)."""
    oauth = oauth_section(spec)
    if oauth.revoke_url is None:
        return
    form = {"token": token, "token_type_hint": hint}
    answer = await _send(
        http, spec, oauth, app=app, url=oauth.revoke_url, form=form, op="revoke", token_call=False
    )
    if not answer.ok:
        raise failure(spec, answer, phase="token", operation="revoke")


async def identity(http: HttpClient, spec: ProviderSpec, *, tokens: TokenSet) -> ExternalIdentity:
    """Who signed in: from the identity endpoint, or the OpenID Connect id_token's claims."""
    oauth = oauth_section(spec)
    if oauth.identity_url is None:
        document = _id_token_claims(tokens.id_token)
    else:
        headers = {"Authorization": f"Bearer {tokens.access_token}", **spec.api_headers}
        try:
            answer = await http.request("GET", oauth.identity_url, headers=headers)
        except NoAnswer:
            raise no_answer(spec, "identity") from None
        if not answer.ok:
            raise failure(spec, answer, phase="api", operation="identity")
        document = json_body(spec, answer, "identity")
    subject = first(document, oauth.identity.id)
    if subject is None:
        raise data_error(spec, "identity", "the identity answer has no id")
    name = first(document, oauth.identity.name) if oauth.identity.name else None
    email = first(document, oauth.identity.email) if oauth.identity.email else None
    return ExternalIdentity(
        id=str(subject),
        name=str(name) if name is not None else None,
        email=str(email) if email is not None else None,
    )


async def _token_request(
    http: HttpClient,
    spec: ProviderSpec,
    *,
    app: AppCredentials,
    form: dict[str, str],
    now: datetime,
    operation: str,
) -> TokenSet:
    oauth = oauth_section(spec)
    # The answer may hold the only copy of a rotated refresh token: wait the token timeout.
    answer = await _send(
        http, spec, oauth, app=app, url=oauth.token_url, form=form, op=operation, token_call=True
    )
    if not answer.ok:
        raise failure(spec, answer, phase="token", operation=operation)
    document = json_body(spec, answer, operation)
    access = document.get("access_token") if isinstance(document, dict) else None
    if not isinstance(access, str) or not access:
        raise data_error(spec, operation, "the token answer has no access_token")
    expires_in = document.get("expires_in")
    expires_at = (
        now + timedelta(seconds=float(expires_in))
        if isinstance(expires_in, int | float | str) and str(expires_in).replace(".", "").isdigit()
        else None
    )
    scope = document.get("scope")
    refresh_token = document.get("refresh_token")
    id_token = document.get("id_token")
    return TokenSet(
        access_token=access,
        refresh_token=refresh_token if isinstance(refresh_token, str) else None,
        expires_at=expires_at,
        scopes=tuple(scope.split(oauth.scope_separator)) if isinstance(scope, str) else (),
        id_token=id_token if isinstance(id_token, str) else None,
    )


async def _send(
    http: HttpClient,
    spec: ProviderSpec,
    oauth: OAuth2Spec,
    *,
    app: AppCredentials,
    url: str,
    form: dict[str, str],
    op: str,
    token_call: bool,
) -> Answer:
    body = dict(form)
    headers = {"Accept": "application/json"}
    if oauth.token_auth == "client_secret_basic":  # noqa: S105  (a method name)
        # RFC 6749 section 2.3.1: form-encode the id and secret before Basic.
        headers["Authorization"] = aiohttp.encode_basic_auth(
            quote_plus(app.client_id), quote_plus(app.client_secret)
        )
    else:
        body |= {"client_id": app.client_id, "client_secret": app.client_secret}
    try:
        return await http.request("POST", url, data=body, headers=headers, token_call=token_call)
    except NoAnswer:
        raise no_answer(spec, op) from None


def _id_token_claims(id_token: str | None) -> Any:
    """The claims of an id_token taken straight from the token endpoint over TLS.

    OpenID Connect Core 3.1.3.7 lets a client skip the signature check in that case.
    """
    if not id_token or id_token.count(".") != 2:
        return {}
    payload = id_token.split(".")[1]
    padded = payload + "=" * (-len(payload) % 4)
    try:
        return json.loads(base64.urlsafe_b64decode(padded))
    except ValueError:
        return {}
