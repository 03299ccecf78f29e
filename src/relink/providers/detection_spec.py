"""Catalog fields for detection: which revocation signals a provider sends, and the probe.

A signal entry cites the provider's documentation. ``receiver: received`` means Relink has a
verified endpoint for it (signals/); ``not_yet_received`` documents a signal Relink does not
listen to yet, so the gap is visible in the catalog rather than forgotten.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from relink.providers.spec_fields import Citation, Method, Strict, Url

SignalKind = Literal[
    # OpenID RISC / Google Cross-Account Protection: Security Event Tokens (RFC 8417, 8935).
    "risc",
    # Meta's Deauthorize Callback: a signed_request (HMAC-SHA256 with the app secret).
    "meta_deauthorize",
    # Shopify's app/uninstalled webhook (X-Shopify-Hmac-Sha256 over the raw body).
    "shopify_app_uninstalled",
    # HubSpot's app uninstall webhook (X-HubSpot-Signature-v3).
    "hubspot_app_uninstall",
]

# Default probe budget when the catalog names none: gentle for any provider.
DEFAULT_PROBE_CALLS_PER_MINUTE = 60


class SignalSpec(Strict):
    kind: SignalKind
    receiver: Literal["received", "not_yet_received"]
    source: Citation
    # RISC: the transmitter's issuer and its published keys (from its discovery document).
    issuer: str | None = None
    jwks_uri: Url | None = None

    @model_validator(mode="after")
    def _risc_needs_keys(self) -> SignalSpec:
        received_risc = self.kind == "risc" and self.receiver == "received"
        if received_risc and (self.issuer is None or self.jwks_uri is None):
            raise ValueError("signals: a received risc signal needs issuer and jwks_uri")
        return self


class ProbeSpec(Strict):
    """The cheapest authenticated call that says whether a grant still works."""

    # None: the OAuth identity URL, or the API key / basic verify URL.
    url: Url | None = None
    method: Method = "GET"
    # The most probe calls per minute Relink makes to this provider, all agencies together.
    calls_per_minute: int = Field(default=DEFAULT_PROBE_CALLS_PER_MINUTE, gt=0)
    # Where the provider documents the call's cost or quota.
    source: Citation | None = None
