"""Which revocation a verified signal reports for each login it names.

``risc.verify_set`` answers the subjects whose grants must be checked; what each subject's
event says happened is read here from the same token, once it is verified, and travels with
the check (signals/check.py) into the words of the failure it may end in.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from relink.providers.revocation import DEAUTHORIZED, EVENT_ORDER, Revocation
from relink.signals.risc import CHECK_EVENTS, VerifiedSet


def from_set(token: bytes, verified: VerifiedSet) -> dict[str, Revocation]:
    """The revocation each of ``verified``'s subjects is named in (``token`` is the SET that
    ``verified`` came from); a subject whose event cannot be read again is left out."""
    found: dict[str, Revocation] = {}
    for event_type, body in _events(token).items():
        if event_type not in CHECK_EVENTS or not isinstance(body, Mapping):
            continue
        subject = body.get("subject")
        sub = subject.get("sub") if isinstance(subject, Mapping) else None
        if not isinstance(sub, str) or sub not in verified.subjects:
            continue
        reported = Revocation.of(event_type, body.get("reason"))
        if sub not in found or _rank(reported) < _rank(found[sub]):
            found[sub] = reported
    return found


def from_deauthorize(user_id: str) -> dict[str, Revocation]:
    """Meta's Deauthorize Callback: the person removed the app."""
    return {user_id: Revocation(DEAUTHORIZED)}


def _rank(revocation: Revocation) -> int:
    event = revocation.event
    return EVENT_ORDER.index(event) if event in EVENT_ORDER else len(EVENT_ORDER)


def _events(token: bytes) -> Mapping[str, Any]:
    # The signature was checked by risc.verify_set on these very bytes: only the claims are read.
    parts = token.split(b".")
    if len(parts) != 3:
        return {}
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + b"=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        return {}
    events = claims.get("events") if isinstance(claims, dict) else None
    return events if isinstance(events, dict) else {}
