"""What ``/api/v1/grants`` lists: grants, the clients on one, and its reconnect links."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from relink.events.listing import UserRef
from relink.grants.listing import GrantClient
from relink.grants.source_counts import SourceCounts
from relink.models import Grant, ReconnectLink
from relink.providers.catalog import Catalog
from relink.providers.taxonomy import AuthKind, ErrorClass
from relink.status import GrantStatus

_NEXT = "Pass as cursor for the next page; null on the last page"


class GrantSummaryOut(BaseModel):
    """A grant (one login at one provider) as the list shows it."""

    id: int = Field(description="The grant's id")
    provider: str = Field(description="The provider's catalog key")
    provider_name: str = Field(description="The provider's display name")
    auth_kind: AuthKind = Field(description="oauth2, api_key or basic")
    identity: str | None = Field(description="The login's name at the provider")
    status: GrantStatus = Field(description="active, disconnected or revoked")
    reason: ErrorClass | None = Field(description="Why it is down, when it is")
    reason_detail: str | None = Field(description="The provider's words, when it is down")
    refresh_expires_at: datetime | None = Field(
        description="When the provider said the sign-in itself lapses, if it did"
    )
    data_source_count: int = Field(description="Its live data sources the caller may see")
    disconnected_count: int = Field(description="How many of those are disconnected")
    created_at: datetime = Field(description="When it was first connected")

    @classmethod
    def of(cls, grant: Grant, *, counts: SourceCounts, catalog: Catalog) -> GrantSummaryOut:
        return cls(
            id=grant.id,
            provider=grant.provider,
            provider_name=catalog.display_name(grant.provider),
            auth_kind=grant.auth_kind,
            identity=grant.identity_name or grant.external_identity,
            status=grant.status,
            reason=grant.status_reason,
            reason_detail=grant.status_detail,
            refresh_expires_at=grant.refresh_expires_at,
            data_source_count=counts.data_sources,
            disconnected_count=counts.disconnected,
            created_at=grant.created_at,
        )


class GrantPage(BaseModel):
    """A page of grants, by id."""

    items: list[GrantSummaryOut] = Field(description="The grants of this page")
    next_cursor: str | None = Field(description=_NEXT)


class GrantClientOut(BaseModel):
    """A client the grant serves (only clients the caller may see are listed)."""

    id: int = Field(description="The client's id")
    name: str = Field(description="The client's name")
    data_source_count: int = Field(description="Its live data sources on this grant")
    disconnected_count: int = Field(description="How many of those are disconnected")

    @classmethod
    def of(cls, client: GrantClient) -> GrantClientOut:
        return cls(
            id=client.client_id,
            name=client.name,
            data_source_count=client.data_sources,
            disconnected_count=client.disconnected,
        )


class GrantClientPage(BaseModel):
    """A page of a grant's clients, by name."""

    items: list[GrantClientOut] = Field(description="The clients of this page")
    next_cursor: str | None = Field(description=_NEXT)


class LinkState(StrEnum):
    USABLE = "usable"
    USED = "used"
    EXPIRED = "expired"
    REVOKED = "revoked"


class ReconnectLinkOut(BaseModel):
    """A client reconnect link (its address is shown once, when it is made, never again)."""

    id: int = Field(description="The link's id (to withdraw it)")
    grant_id: int = Field(description="The grant it re-authorizes")
    state: LinkState = Field(description="usable, used, expired or revoked")
    note: str | None = Field(description="The admin's note for whom it is")
    created_at: datetime = Field(description="When it was made")
    created_by: int | None = Field(description="The id of the admin who made it")
    created_by_name: str | None = Field(description="That admin's name")
    expires_at: datetime = Field(description="When it stops working")
    used_at: datetime | None = Field(description="When it was used")
    revoked_at: datetime | None = Field(description="When it was withdrawn")

    @classmethod
    def of(
        cls, link: ReconnectLink, *, now: datetime, users: dict[int, UserRef]
    ) -> ReconnectLinkOut:
        if link.revoked_at is not None:
            state = LinkState.REVOKED
        elif link.used_at is not None:
            state = LinkState.USED
        elif link.expires_at <= now:
            state = LinkState.EXPIRED
        else:
            state = LinkState.USABLE
        maker = users.get(link.created_by or 0)
        return cls(
            id=link.id,
            grant_id=link.grant_id,
            state=state,
            note=link.note,
            created_at=link.created_at,
            created_by=link.created_by,
            created_by_name=maker.name if maker else None,
            expires_at=link.expires_at,
            used_at=link.used_at,
            revoked_at=link.revoked_at,
        )


class ReconnectLinkPage(BaseModel):
    """A page of a grant's reconnect links, newest first."""

    items: list[ReconnectLinkOut] = Field(description="The links of this page")
    next_cursor: str | None = Field(description=_NEXT)
