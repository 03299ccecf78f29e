"""What the API says about notifications."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from relink.notifications.service import InboxItem


class ActionOut(BaseModel):
    label: str
    url: str


class NotificationOut(BaseModel):
    id: int
    kind: str
    created_at: datetime
    opened_at: datetime
    read: bool
    resolved: bool
    title: str
    text: str
    provider: str
    provider_name: str
    client_names: list[str]
    reason: str
    hint: str
    action: ActionOut

    @classmethod
    def of(cls, item: InboxItem) -> NotificationOut:
        content = item.content
        action = content.action
        return cls(
            id=item.id,
            kind=content.kind,
            created_at=item.created_at,
            opened_at=content.opened_at,
            read=item.read,
            resolved=item.resolved,
            title=content.title,
            text=content.text,
            provider=content.provider,
            provider_name=content.provider_name,
            client_names=content.client_names,
            reason=content.reason,
            hint=content.hint,
            action=ActionOut(label=action.label, url=f"/notifications/{item.id}/act"),
        )


class NotificationPage(BaseModel):
    items: list[NotificationOut]
    next_cursor: str | None
    unread: int


class UnreadCount(BaseModel):
    unread: int


class ActionTaken(BaseModel):
    redirect: str
