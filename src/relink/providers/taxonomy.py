"""DESIGN.md's words for provider auth kinds and for what a provider's answer means."""

from __future__ import annotations

import enum


class AuthKind(enum.StrEnum):
    OAUTH2 = "oauth2"
    API_KEY = "api_key"
    # User name + password, or key + secret.
    BASIC = "basic"


class ErrorClass(enum.StrEnum):
    AUTH_REVOKED = "auth_revoked"
    AUTH_EXPIRED = "auth_expired"
    INVALID_CREDENTIALS = "invalid_credentials"
    PERMISSION_DENIED = "permission_denied"
    ACCOUNT_NOT_FOUND = "account_not_found"
    RATE_LIMITED = "rate_limited"
    PROVIDER_UNAVAILABLE = "provider_unavailable"
    DATA_ERROR = "data_error"
    APP_MISCONFIGURED = "app_misconfigured"
    # The access token lapsed: refresh and retry; never a disconnect by itself.
    ACCESS_TOKEN_EXPIRED = "access_token_expired"  # noqa: S105


# Classes that end the whole grant: every data source on it needs the grant re-authorized.
GRANT_LEVEL = frozenset({ErrorClass.AUTH_REVOKED, ErrorClass.AUTH_EXPIRED})
# Classes that need a person for one data source; the grant stays valid for the others.
DATA_SOURCE_LEVEL = frozenset(
    {
        ErrorClass.INVALID_CREDENTIALS,
        ErrorClass.PERMISSION_DENIED,
        ErrorClass.ACCOUNT_NOT_FOUND,
    }
)
# Classes that are retried and never disconnect anything.
TRANSIENT = frozenset(
    {
        ErrorClass.RATE_LIMITED,
        ErrorClass.PROVIDER_UNAVAILABLE,
        ErrorClass.ACCESS_TOKEN_EXPIRED,
    }
)


# Who imports a data source's days: the catalog (an entry's default) and the tables name it.
class ImportMode(enum.StrEnum):
    # Relink calls the provider's data API and writes the days into its own tables.
    RELINK = "relink"
    # Another system's importers call it; Relink keeps the connection healthy and hands them
    # fresh credentials, reads their failure reports and their confirmed days.
    EXTERNAL = "external"
