"""Issuers' published keys (JWKS), fetched with the shared HTTP client and cached.

A key id we do not know makes one refetch (a transmitter rotated its keys), at most once per
``REFETCH_PAUSE`` per URL, so a stream of forged tokens with made-up key ids cannot turn the
receiver into a fetching loop against the issuer.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from relink.providers.http import HttpClient, NoAnswer

CACHE_SECONDS = 3600.0
REFETCH_PAUSE = 30.0


class KeysUnavailable(Exception):
    """The issuer's key set could not be fetched or read."""


@dataclass
class _Cached:
    keys: KeySet
    fetched_at: float


class JwksCache:
    def __init__(self) -> None:
        self._cache: dict[str, _Cached] = {}

    async def keys(self, http: HttpClient, url: str, *, refresh: bool = False) -> KeySet:
        """The key set at ``url``; ``refresh`` refetches unless fetched moments ago."""
        cached = self._cache.get(url)
        now = time.monotonic()
        if cached is not None:
            age = now - cached.fetched_at
            if age < CACHE_SECONDS and not (refresh and age >= REFETCH_PAUSE):
                return cached.keys
        try:
            answer = await http.request("GET", url)
        except NoAnswer:
            if cached is not None:
                return cached.keys
            raise KeysUnavailable(f"no answer from {url}") from None
        if not answer.ok:
            raise KeysUnavailable(f"{url} answered {answer.status}")
        try:
            keys = KeySet.import_key_set(json.loads(answer.body))
        except (ValueError, JoseError, KeyError, TypeError) as exc:
            raise KeysUnavailable(f"{url} is not a key set: {type(exc).__name__}") from None
        self._cache[url] = _Cached(keys, now)
        return keys

    def clear(self) -> None:
        self._cache.clear()


# One per process: every receiver request shares it.
jwks_cache = JwksCache()
