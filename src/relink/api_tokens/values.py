"""What a token's value looks like, how one is made, and what of it is kept.

A value is ``rlk_<lookup>_<secret>``: ``rlk_`` says what it is (secret scanners and people
recognise it), ``lookup`` (16 hex characters) is the row's public key, found in one indexed
read, and ``secret`` (43 URL-safe characters, 256 random bits) is checked against its digest.

The digest is a plain SHA-256, not argon2: a token is checked on every request, and argon2 is
slow on purpose (tens of milliseconds and many MiB per check), a cost worth paying only for a
guessable password. 256 random bits cannot be guessed or brute-forced from their digest, so a
fast hash protects a leaked row just as well.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

PREFIX = "rlk_"
LOOKUP_BYTES = 8
SECRET_BYTES = 32
# The shape of a value, strictly: anything else is malformed, answered before any read.
_VALUE = re.compile(r"rlk_(?P<lookup>[0-9a-f]{16})_(?P<secret>[A-Za-z0-9_-]{43})")
# How the expected form is written in a refusal (never a real value).
EXPECTED_FORM = "Authorization: Bearer rlk_<16 hex characters>_<43 characters>"


@dataclass(frozen=True, slots=True)
class TokenValue:
    """A value split into its two parts. Never logged or printed: ``secret`` is the secret."""

    lookup: str
    secret: str

    def __repr__(self) -> str:
        return f"TokenValue(lookup={self.lookup!r}, secret=...)"

    @property
    def text(self) -> str:
        """The value as a script sends it."""
        return f"{PREFIX}{self.lookup}_{self.secret}"


def new_value() -> TokenValue:
    """A fresh random value."""
    return TokenValue(secrets.token_hex(LOOKUP_BYTES), secrets.token_urlsafe(SECRET_BYTES))


def parse_value(text: str) -> TokenValue | None:
    """The parts of a well-formed value, or None."""
    found = _VALUE.fullmatch(text)
    if found is None:
        return None
    return TokenValue(found["lookup"], found["secret"])


def secret_digest(secret: str) -> str:
    """What the row keeps of the secret: its SHA-256, hex."""
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(secret: str, digest: str) -> bool:
    """Whether ``secret`` is the one ``digest`` was made of, in constant time (a comparison
    that stops at the first difference would tell an attacker how much of it was right)."""
    return hmac.compare_digest(secret_digest(secret), digest)
