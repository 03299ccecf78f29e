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

import base64
import secrets as random_bytes
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from standardwebhooks.webhooks import Webhook

ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
# Not part of the specification: the event type, so a receiver can route before it parses.
EVENT_HEADER = "Relink-Event"
SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix that marks secrets, not a secret)
# 24 random bytes are 32 base64 characters: 192 bits, beyond any guessing.
SECRET_BYTES = 24


def new_secret() -> str:
    """A fresh ``whsec_`` secret: the part after the prefix is the HMAC key, in base64."""
    return SECRET_PREFIX + base64.b64encode(random_bytes.token_bytes(SECRET_BYTES)).decode()


@dataclass(frozen=True)
class SigningKeys:
    """An endpoint's secret and, for an overlap after a rotation, the one it replaced.

    Both sign while the overlap lasts, so a receiver can switch secrets without losing a
    delivery; once it is over the previous one signs nothing and the next write drops it.
    """

    current: str
    previous: str | None = None
    previous_until: datetime | None = None

    def signing(self, now: datetime) -> list[str]:
        """The secrets that sign at ``now``: the current one first."""
        if self.previous and self.previous_until and self.previous_until > now:
            return [self.current, self.previous]
        return [self.current]

    def overlap_until(self, now: datetime) -> datetime | None:
        """When the previous secret stops signing, if it still does at ``now``."""
        return self.previous_until if len(self.signing(now)) > 1 else None

    def rotated(self, new: str, *, now: datetime, overlap: timedelta) -> SigningKeys:
        """``new`` becomes current; the current one signs beside it for ``overlap``.

        A rotation during an overlap drops the oldest secret: never more than two sign.
        """
        return SigningKeys(current=new, previous=self.current, previous_until=now + overlap)

    def as_sealed(self, now: datetime | None = None) -> dict[str, Any]:
        """The fields kept in the endpoint's sealed column; a previous secret whose overlap
        is over at ``now`` is dropped."""
        fields: dict[str, Any] = {"secret": self.current}
        if self.previous and self.previous_until and (now is None or self.previous_until > now):
            fields |= {"previous": self.previous, "previous_until": self.previous_until.isoformat()}
        return fields

    @classmethod
    def of_sealed(cls, opened: Mapping[str, Any]) -> SigningKeys:
        until = opened.get("previous_until")
        return cls(
            current=str(opened["secret"]),
            previous=str(opened["previous"]) if opened.get("previous") else None,
            previous_until=datetime.fromisoformat(until) if until else None,
        )


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
