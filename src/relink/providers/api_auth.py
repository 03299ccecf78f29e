"""How one grant's credentials go on an API request, per the catalog's placement."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import aiohttp

from relink.providers.spec import BasicKey, HeaderKey, ProviderSpec, QueryKey
from relink.providers.taxonomy import AuthKind


@dataclass(frozen=True)
class ApiAuth:
    headers: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)
    # Values that fill URL placeholders (a Mailchimp data centre carried in the key).
    url_params: Mapping[str, str] = field(default_factory=dict)

    def apply(self, url: str) -> str:
        if not self.query:
            return url
        return f"{url}{'&' if '?' in url else '?'}{urlencode(dict(self.query))}"


def api_auth(spec: ProviderSpec, credentials: Mapping[str, Any]) -> ApiAuth:
    """The auth of a grant's sealed credentials for ``spec``."""
    extra = dict(spec.api_headers)
    if spec.auth is AuthKind.OAUTH2:
        return ApiAuth(headers={**extra, "Authorization": f"Bearer {credentials['access_token']}"})
    if spec.auth is AuthKind.API_KEY:
        assert spec.api_key is not None
        return key_auth(spec, str(credentials["api_key"]))
    basic = aiohttp.encode_basic_auth(str(credentials["username"]), str(credentials["password"]))
    return ApiAuth(headers={**extra, "Authorization": basic})


def key_auth(spec: ProviderSpec, key: str) -> ApiAuth:
    """The auth for an API key, placed as the catalog says."""
    assert spec.api_key is not None
    send = spec.api_key.send
    params = spec.api_key.url_params(key) if spec.api_key.matches(key) else {}
    extra = dict(spec.api_headers)
    if isinstance(send, HeaderKey):
        value = f"{send.prefix}{key}{send.suffix}"
        return ApiAuth(headers={**extra, send.name: value}, url_params=params)
    if isinstance(send, BasicKey):
        basic = (
            aiohttp.encode_basic_auth(send.username, key)
            if send.username is not None
            else aiohttp.encode_basic_auth(key, "")
        )
        return ApiAuth(headers={**extra, "Authorization": basic}, url_params=params)
    assert isinstance(send, QueryKey)
    return ApiAuth(headers=extra, query={send.param: key}, url_params=params)
