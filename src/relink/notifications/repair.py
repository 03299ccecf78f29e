"""Where a person repairs a broken data source: one rule for the pages, the messages and the
importer API."""

from __future__ import annotations

from relink.providers.taxonomy import AuthKind


def repair_path(auth_kind: AuthKind, *, grant_id: int, data_source_id: int) -> str:
    """The grant's Reconnect for an OAuth sign-in, else the data source's new-key form."""
    if auth_kind is AuthKind.OAUTH2:
        return f"/grants/{grant_id}/reconnect"
    return f"/data-sources/{data_source_id}/credentials"
