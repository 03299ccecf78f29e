"""Webhook signatures on the Standard Webhooks specification (https://www.standardwebhooks.com).

Each delivery carries ``webhook-id`` (the event's id, the same on every retry),
``webhook-timestamp`` (unix seconds) and ``webhook-signature``: ``v1,<base64 HMAC-SHA256>`` of
``"{id}.{timestamp}.{raw body}"``, keyed with the base64-decoded part of the endpoint's
``whsec_...`` secret; during a rotation one signature per live secret, separated by spaces.
The signing itself is the specification's reference library (``standardwebhooks``), so any
receiver library of the specification verifies what Relink sends. docs/webhooks.md documents
the recipe; change it only together with that page.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook

ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
# Not part of the specification: the event type, so a receiver can route before it parses.
EVENT_HEADER = "Relink-Event"


def signature(secrets: Sequence[str], *, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: one ``v1,...`` per secret (current first)."""
    if not secrets:
        raise ValueError("at least one secret is needed to sign")
    at = datetime.fromtimestamp(timestamp, tz=UTC)
    return " ".join(
        Webhook(secret).sign(msg_id=message_id, timestamp=at, data=body) for secret in secrets
    )


def signed_headers(
    secrets: Sequence[str], *, message_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """The three Standard Webhooks headers of one delivery."""
    return {
        ID_HEADER: message_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secrets, message_id=message_id, timestamp=timestamp, body=body),
    }
