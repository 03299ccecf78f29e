"""How a dead grant is told: as its evidence says, revoked, expired, or either.

Google answers "Token has been expired or revoked." for both (and the sandbox, like Google);
such an answer is told as either, never as "expired" on a guess. Better evidence, where there
is some, says which: the provider's revocation signal (providers/revocation.py), or the end
of a lifetime the provider documents (grants/failures.py).
"""

from __future__ import annotations

import re
from typing import Any, Final, Literal

from relink.providers.taxonomy import ErrorClass

# What a provider's words say of a dead grant.
Told = Literal["revoked", "expired", "revoked_or_expired"]

HINT_GRANT: Final = "The provider refused the saved sign-in; someone needs to reconnect."
HINT_REVOKED: Final = "Access was removed at the provider; someone needs to reconnect."
HINT_EXPIRED: Final = "The saved sign-in has expired; someone needs to reconnect."
HINT_EITHER: Final = (
    "The saved sign-in no longer works: it was revoked or has expired; someone needs to reconnect."
)
HINT_LIFETIME: Final = (
    "The saved sign-in expired on {ended:%d %b %Y}, when the lifetime the provider gives its "
    "sign-ins ended; reconnect to sign in again."
)


def told(text: str | None) -> Told | None:
    """Whether a provider's message says revoked, expired, or both (then it knows no better
    than we do); None when it says neither."""
    words = (text or "").casefold()
    revoked = re.search(r"\brevok", words) is not None
    expired = re.search(r"\bexpir", words) is not None
    if revoked and expired:
        return "revoked_or_expired"
    if revoked:
        return "revoked"
    return "expired" if expired else None


def invalid_grant(description: Any) -> tuple[ErrorClass, str]:
    """RFC 6749's ``invalid_grant`` from a provider with no rule of its own for it, told as
    its ``error_description`` says."""
    said = told(description if isinstance(description, str) else None)
    if said == "revoked":
        return ErrorClass.AUTH_REVOKED, HINT_REVOKED
    if said == "expired":
        return ErrorClass.AUTH_EXPIRED, HINT_EXPIRED
    if said == "revoked_or_expired":
        return ErrorClass.AUTH_REVOKED, HINT_EITHER
    return ErrorClass.AUTH_REVOKED, HINT_GRANT
