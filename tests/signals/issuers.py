"""Security Event Tokens and a catalog for tests against a key set served on a loopback port:
the sandbox's issuer is the server's address, and Google's key set is fetched from it too."""

from __future__ import annotations

import functools
import time
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey

from relink.providers.catalog import Catalog, load_catalog
from relink.sandbox.transmitter import TOKENS_REVOKED
from tests.fixtures.jwks_server import JwksServer

GOOGLE_ISSUER = "https://accounts.google.com/"
GOOGLE_PROVIDERS = ("google_ads", "google_analytics", "google_search_console")
SUBJECT = "sbx-user-1001"


def catalog_at(server: JwksServer) -> Catalog:
    """The shipped catalog, with every RISC key set it names served by ``server``."""
    return _catalog_at(server.url, server.jwks_uri)


@functools.cache
def _catalog_at(url: str, jwks_uri: str) -> Catalog:
    # Read once per server: loading and validating every catalog file is most of a test's time.
    catalog = load_catalog(base_urls={"sandbox_url": url})
    specs = dict(catalog.specs)
    for key in GOOGLE_PROVIDERS:
        spec = specs[key]
        signals = tuple(
            s.model_copy(update={"jwks_uri": jwks_uri}) if s.kind == "risc" else s
            for s in spec.signals
        )
        specs[key] = spec.model_copy(update={"signals": signals})
    return Catalog(specs)


def security_event_token(key: ECKey, *, issuer: str, audience: Any, **claims: Any) -> bytes:
    """A tokens-revoked SET about ``SUBJECT`` signed with ``key`` (its kid in the header)."""
    body = {
        "iss": issuer,
        "aud": audience,
        "iat": int(time.time()),
        "jti": f"set-{time.monotonic_ns()}",
        "events": {
            TOKENS_REVOKED: {"subject": {"subject_type": "iss-sub", "iss": issuer, "sub": SUBJECT}}
        },
    } | claims
    header = {"alg": "ES256", "kid": key.kid, "typ": "secevent+jwt"}
    return jwt.encode(header, body, key).encode()


def forged_key(kid: str) -> ECKey:
    """A key the issuer never published, under a made-up key id."""
    return ECKey.generate_key("P-256", parameters={"kid": kid})
