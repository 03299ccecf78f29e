"""What the provider client hands back: plain values, or a ProviderFailure with its class."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from relink.providers.classify import Classification
from relink.providers.taxonomy import ErrorClass


class ProviderFailure(Exception):
    """A provider call that did not succeed, classified onto DESIGN.md's taxonomy."""

    def __init__(
        self,
        classification: Classification,
        *,
        provider: str,
        operation: str,
        answered: bool = True,
    ) -> None:
        super().__init__(f"{provider} {operation}: {classification.error_class.value}")
        self.classification = classification
        self.provider = provider
        self.operation = operation
        # False when no complete answer came back: the request may still have taken effect.
        self.answered = answered

    @property
    def error_class(self) -> ErrorClass:
        return self.classification.error_class


@dataclass(frozen=True)
class AppCredentials:
    """OUR registered OAuth client at a provider."""

    client_id: str
    client_secret: str
    redirect_uri: str


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    refresh_token: str | None
    expires_at: datetime | None
    scopes: tuple[str, ...] = ()
    id_token: str | None = None

    def as_credentials(self, previous: dict[str, Any] | None = None) -> dict[str, Any]:
        """The object sealed into a grant; a provider that sends no new refresh token keeps
        the old one (RFC 6749 section 6)."""
        refresh = self.refresh_token or (previous or {}).get("refresh_token")
        return {"access_token": self.access_token, "refresh_token": refresh}


@dataclass(frozen=True)
class ExternalIdentity:
    id: str
    name: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class ExternalAccount:
    id: str
    name: str
    manager_id: str | None = None
    # The account's IANA time zone when the provider's listing names one (None: not told).
    time_zone: str | None = None
