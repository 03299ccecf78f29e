"""What ``/api/v1/incidents`` says about incidents: one continuous failure, first to repair."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from relink.events.listing import UserRef
from relink.events.schemas import UserRefOut
from relink.incidents.listing import Affected, AffectedSource, IncidentState
from relink.models import Incident
from relink.providers.catalog import Catalog
from relink.providers.taxonomy import ErrorClass
from relink.status import DataSourceStatus


class AffectedClientOut(BaseModel):
    """A client the incident touches (only clients the caller may see are listed)."""

    id: int = Field(description="The client's id")
    name: str = Field(description="The client's name")
    data_source_count: int = Field(description="How many of its data sources the incident touches")


class IncidentOut(BaseModel):
    """One incident: what failed, how it was found, whom it touches, and who repaired it."""

    id: int = Field(description="The incident's id")
    state: IncidentState = Field(description="open until the cause is repaired, then resolved")
    kind: str = Field(
        description="What people are told: reconnect_needed, upload_failed, data_delayed, "
        "expires_soon or operations_alert"
    )
    error_class: ErrorClass = Field(description="The class of the provider's answer")
    provider: str = Field(description="The provider's catalog key")
    provider_name: str = Field(description="The provider's display name")
    grant_id: int | None = Field(description="The grant that failed, for a grant's incident")
    data_source_id: int | None = Field(
        description="The data source that failed, for one data source's incident"
    )
    detail: str | None = Field(description="The provider's own message (secrets removed)")
    hint: str | None = Field(description="What to do, in plain words")
    expires_on: date | None = Field(
        description="For expires_soon: the day the provider ends the grant"
    )
    opened_at: datetime = Field(description="The first failure")
    last_seen_at: datetime = Field(description="The latest failure that joined it")
    failure_count: int = Field(description="How many failures joined it")
    detected_via: str | None = Field(
        description="How the failure was found: signal, probe, refresh or import"
    )
    evidence_at: datetime | None = Field(description="When the earliest evidence of it arrived")
    seconds_to_detection: float | None = Field(
        description="From the earliest evidence to the incident's opening (opened_at - evidence_at)"
    )
    resolved_at: datetime | None = Field(description="When the cause was repaired")
    resolved_by: str | None = Field(
        description="Who or what repaired it: user:<id>, or system:<part> (import, refresh, ...)"
    )
    resolved_by_user: UserRefOut | None = Field(
        description="The agency's user who repaired it, when a person did"
    )
    affected_data_source_count: int = Field(
        description="How many of the data sources it touches the caller may see"
    )
    affected_client_count: int = Field(description="How many of its clients the caller may see")
    clients: list[AffectedClientOut] = Field(
        description="The first of those clients by name (all of them are counted above; "
        "/api/v1/incidents/{id}/data-sources lists every data source)"
    )

    @classmethod
    def of(
        cls,
        incident: Incident,
        *,
        affected: Affected,
        users: dict[int, UserRef],
        catalog: Catalog,
    ) -> IncidentOut:
        detection = (
            (incident.opened_at - incident.evidence_at).total_seconds()
            if incident.evidence_at is not None
            else None
        )
        return cls(
            id=incident.id,
            state=IncidentState.OPEN if incident.resolved_at is None else IncidentState.RESOLVED,
            kind=incident.kind,
            error_class=incident.error_class,
            provider=incident.provider,
            provider_name=catalog.display_name(incident.provider),
            grant_id=incident.grant_id,
            data_source_id=incident.data_source_id,
            detail=incident.detail,
            hint=incident.hint,
            expires_on=incident.expires_on,
            opened_at=incident.opened_at,
            last_seen_at=incident.last_seen_at,
            failure_count=incident.failure_count,
            detected_via=incident.detected_via,
            evidence_at=incident.evidence_at,
            seconds_to_detection=detection,
            resolved_at=incident.resolved_at,
            resolved_by=incident.resolved_by,
            resolved_by_user=UserRefOut.named(incident.resolved_by, users),
            affected_data_source_count=affected.data_sources,
            affected_client_count=affected.clients,
            clients=[
                AffectedClientOut(id=c.client_id, name=c.name, data_source_count=c.data_sources)
                for c in affected.first_clients
            ],
        )


class IncidentPage(BaseModel):
    """A page of incidents, newest first."""

    items: list[IncidentOut] = Field(description="The incidents of this page")
    next_cursor: str | None = Field(
        description="Pass as cursor for the next page; null on the last page"
    )


class AffectedDataSourceOut(BaseModel):
    """A data source the incident touches, of a client the caller may see."""

    id: int = Field(description="The data source's id")
    client_id: int = Field(description="Its client's id")
    client_name: str = Field(description="Its client's name")
    provider: str = Field(description="The provider's catalog key")
    external_account_name: str = Field(description="The account's name at the provider")
    status: DataSourceStatus = Field(description="The data source's status now")

    @classmethod
    def of(cls, source: AffectedSource) -> AffectedDataSourceOut:
        return cls(
            id=source.id,
            client_id=source.client_id,
            client_name=source.client_name,
            provider=source.provider,
            external_account_name=source.external_account_name,
            status=source.status,
        )


class AffectedDataSourcePage(BaseModel):
    """A page of an incident's data sources, by id."""

    items: list[AffectedDataSourceOut] = Field(description="The data sources of this page")
    next_cursor: str | None = Field(
        description="Pass as cursor for the next page; null on the last page"
    )
