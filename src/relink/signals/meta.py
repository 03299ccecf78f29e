"""Meta's Deauthorize Callback: a ``signed_request`` naming the user who removed the app.

Format (Meta's Login documentation): ``<signature>.<payload>``, both base64url without
padding; the payload is JSON with ``algorithm`` "HMAC-SHA256", ``issued_at`` and ``user_id``;
the signature is HMAC-SHA256 of the encoded payload with the app secret. Compared in constant
time, the algorithm checked before anything else is trusted, and a stale request refused.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from relink.signals.refusal import refuse

KIND = "meta_deauthorize"
MAX_BYTES = 8 * 1024
MAX_AGE = timedelta(minutes=10)
MAX_SKEW = timedelta(seconds=60)
ALGORITHM = "HMAC-SHA256"


@dataclass(frozen=True)
class Deauthorized:
    user_id: str
    issued_at: datetime
    # A digest of the whole request: the replay guard's id (the callback carries no jti).
    digest: str


def sign(payload: dict[str, Any], secret: str) -> str:
    """A signed_request as Meta builds it (the sandbox sends these; tests forge with it)."""
    body = _b64encode(json.dumps(payload, separators=(",", ":")).encode())
    mac = hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest()
    return f"{_b64encode(mac)}.{body}"


def verify_signed_request(signed_request: str, *, secret: str, now: datetime) -> Deauthorized:
    """The verified callback, or ``SignalRefused`` (logged without the request)."""
    if not signed_request or len(signed_request) > MAX_BYTES or signed_request.count(".") != 1:
        raise refuse(KIND, "invalid_request", "not a signed_request")
    encoded_sig, encoded_payload = signed_request.split(".")
    try:
        signature = _b64decode(encoded_sig)
        payload = json.loads(_b64decode(encoded_payload))
    except (ValueError, binascii.Error):
        raise refuse(KIND, "invalid_request", "the signed_request does not decode") from None
    if not isinstance(payload, dict) or str(payload.get("algorithm", "")).upper() != ALGORITHM:
        raise refuse(KIND, "invalid_request", "unexpected signing algorithm")
    expected = hmac.new(secret.encode(), encoded_payload.encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(signature, expected):
        raise refuse(KIND, "invalid_key", "signature not verified")
    issued = payload.get("issued_at")
    if not isinstance(issued, int) or isinstance(issued, bool):
        raise refuse(KIND, "invalid_request", "no issued_at")
    issued_at = datetime.fromtimestamp(issued, UTC)
    if issued_at < now - MAX_AGE or issued_at > now + MAX_SKEW:
        raise refuse(KIND, "invalid_request", "the signed_request is stale or from the future")
    user_id = payload.get("user_id")
    if not isinstance(user_id, str | int) or isinstance(user_id, bool) or not str(user_id):
        raise refuse(KIND, "invalid_request", "no user_id")
    digest = hashlib.sha256(signed_request.encode()).hexdigest()
    return Deauthorized(user_id=str(user_id), issued_at=issued_at, digest=digest)


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
