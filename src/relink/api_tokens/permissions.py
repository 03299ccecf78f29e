"""What a service token may do: a few narrow permissions, named as the API's OAuth-style
scopes are (``credentials:read``), kept on the row space-separated."""

from __future__ import annotations

import enum
from collections.abc import Iterable

from relink.errors import InvalidInput


class Permission(enum.StrEnum):
    # The importer's reads: which data sources to import, and each one's state.
    READ = "read"
    # Fresh credentials of a data source (the access token or API key, never a refresh token).
    CREDENTIALS_READ = "credentials:read"
    # Report what the provider answered an import (Relink classifies it and says what to do).
    FAILURES_WRITE = "failures:write"
    # Confirm the days imported.
    IMPORTS_WRITE = "imports:write"


# What an importer needs, for a token created without naming any.
IMPORTER = frozenset(Permission)


def parse_permissions(texts: Iterable[str]) -> frozenset[Permission]:
    """Permissions from their names (comma- or space-separated too); unknown ones refused."""
    words = [w for text in texts for w in text.replace(",", " ").split()]
    if not words:
        raise InvalidInput(
            "name at least one permission: " + ", ".join(p.value for p in Permission)
        )
    found: set[Permission] = set()
    for word in words:
        try:
            found.add(Permission(word.strip().lower()))
        except ValueError:
            raise InvalidInput(
                f"unknown permission {word!r}; choose among "
                + ", ".join(p.value for p in Permission)
            ) from None
    return frozenset(found)


def stored(permissions: Iterable[Permission]) -> str:
    """How the row keeps them: sorted, space-separated."""
    return " ".join(sorted(p.value for p in permissions))


def held(text: str | None) -> frozenset[Permission]:
    """The permissions a row keeps (a personal token's None holds none of these)."""
    return frozenset(Permission(w) for w in (text or "").split())
