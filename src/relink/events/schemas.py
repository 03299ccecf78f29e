"""What ``/api/v1/events`` says about the audit history: who changed what, when, and why."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from relink.events.listing import DATA_SOURCE, GRANT, UserRef, actor_user_id
from relink.models import Event


class UserRefOut(BaseModel):
    """A user of the agency named as the one who did something."""

    id: int = Field(description="The user's id")
    name: str = Field(description="The user's display name")

    @classmethod
    def named(cls, actor: str | None, users: dict[int, UserRef]) -> UserRefOut | None:
        """The agency's user behind a ``user:<id>`` actor, if a person it is."""
        found = users.get(actor_user_id(actor) or 0)
        return cls(id=found.id, name=found.name) if found else None


class EventOut(BaseModel):
    """One entry of the audit history."""

    id: int = Field(description="The event's id (later events have larger ids)")
    at: datetime = Field(description="When it happened")
    actor: str = Field(
        description="Who or what did it: user:<id>, or system:<part> (sweep, import, ...)"
    )
    actor_user: UserRefOut | None = Field(description="The agency's user, when a person did it")
    subject_type: str = Field(description="What it is about: data_source or grant")
    subject_id: int = Field(description="The id of the data source or grant")
    data_source_id: int | None = Field(description="The data source, when it is about one")
    grant_id: int | None = Field(description="The grant, when it is about one")
    action: str = Field(description="What happened (status_changed, authorized, ...)")
    from_status: str | None = Field(description="The status before, for a status change")
    to_status: str | None = Field(description="The status after, for a status change")
    reason: str | None = Field(description="Why, in words")
    details: dict[str, Any] = Field(
        description="Facts of the change (the error class, the data sources a reconnect "
        "brought back: only those the caller may see)"
    )

    @classmethod
    def of(cls, event: Event, *, users: dict[int, UserRef]) -> EventOut:
        return cls(
            id=event.id,
            at=event.at,
            actor=event.actor,
            actor_user=UserRefOut.named(event.actor, users),
            subject_type=event.subject_type,
            subject_id=event.subject_id,
            data_source_id=event.subject_id if event.subject_type == DATA_SOURCE else None,
            grant_id=event.subject_id if event.subject_type == GRANT else None,
            action=event.action,
            from_status=event.from_status,
            to_status=event.to_status,
            reason=event.reason,
            details=dict(event.details or {}),
        )


class EventPage(BaseModel):
    """A page of the audit history, newest first."""

    items: list[EventOut] = Field(description="The events of this page")
    next_cursor: str | None = Field(
        description="Pass as cursor for the next page; null on the last page"
    )
