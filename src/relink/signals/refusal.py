"""A signal refused: why, in RFC 8935's words, logged without anything secret."""

from __future__ import annotations

import structlog

from relink.errors import RelinkError

log = structlog.get_logger(__name__)


class SignalRefused(RelinkError):
    """A forged, replayed, stale or wrongly addressed signal: nothing changes.

    ``err`` is an RFC 8935 section 2.4 error code (invalid_request, invalid_key,
    invalid_issuer, invalid_audience, authentication_failed).
    """

    status_code = 400

    def __init__(self, err: str, description: str) -> None:
        super().__init__(description)
        self.err = err
        self.description = description


def refuse(kind: str, err: str, description: str, **context: str) -> SignalRefused:
    """Log the refusal (kind, reason, non-secret context) and return the error to raise."""
    log.warning("signals.refused", kind=kind, err=err, reason=description, **context)
    return SignalRefused(err, description)
