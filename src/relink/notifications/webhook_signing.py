"""Webhook signatures: ``t=<unix seconds>,v1=<hex HMAC-SHA256 of "{t}.{raw body}">``.

The recipe is documented in docs/webhooks.md; change it only together with that page.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from datetime import datetime

SIGNATURE_HEADER = "Relink-Signature"
EVENT_HEADER = "Relink-Event"
DELIVERY_HEADER = "Relink-Delivery"
SCHEME = "v1"
# A signature older (or further in the future) than this is a replay, not a delivery; five
# minutes absorbs clock skew between us and the receiver.
DEFAULT_TOLERANCE_SECONDS = 300


def _mac(secret: str, timestamp: int, body: bytes) -> str:
    signed = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Relink-Signature`` value for ``body`` sent at ``timestamp`` (unix seconds)."""
    return signature_header([secret], timestamp, body)


def signature_header(secrets: Sequence[str], timestamp: int, body: bytes) -> str:
    """One ``v1`` per secret: during a rotation both the new and the previous secret sign."""
    if not secrets:
        raise ValueError("at least one secret is needed to sign")
    macs = ",".join(f"{SCHEME}={_mac(secret, timestamp, body)}" for secret in secrets)
    return f"t={timestamp},{macs}"


def verify(
    secret: str,
    header: str,
    body: bytes,
    *,
    now: datetime | float,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> bool:
    """True when ``header`` signs ``body`` with ``secret`` and its timestamp is recent."""
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                return False
        elif key == SCHEME:
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    current = now.timestamp() if isinstance(now, datetime) else float(now)
    if abs(current - timestamp) > tolerance:
        return False
    expected = _mac(secret, timestamp, body)
    # Check every candidate (no early exit) and compare in constant time.
    matches = [hmac.compare_digest(expected, candidate) for candidate in candidates]
    return any(matches)
