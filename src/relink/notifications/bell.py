"""What the bell's live stream shows: the unread count and the newest items, per user.

``render_many`` answers for many users in ONE query (a window over their notifications), so a
change seen by 500 open bells of one process costs one query, not 500.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from relink.db import Database
from relink.models import Notification, User
from relink.notifications import service as inbox
from relink.notifications.schemas import NotificationOut

# Items the bell dropdown shows; the inbox page pages through the rest.
BELL_ITEMS = 8


def _text(unread: int, items: list[dict[str, Any]]) -> str:
    return json.dumps({"unread": unread, "items": items})


async def render_one(database: Database, user: User) -> str:
    """One user's bell (a stream's first event)."""
    async with database.sessions() as session:
        count = await inbox.unread_count(session, user=user)
        page = await inbox.list_notifications(session, user=user, limit=BELL_ITEMS)
    return _text(count, [NotificationOut.of(i).model_dump(mode="json") for i in page.items])


async def render_many(database: Database, user_ids: list[int]) -> dict[int, str]:
    """Every named user's bell, in one query: the same text ``render_one`` gives each."""
    if not user_ids:
        return {}
    is_read = Notification.read_at.is_not(None)
    ranked = (
        select(
            Notification,
            func.row_number()
            .over(partition_by=Notification.user_id, order_by=(is_read, Notification.id.desc()))
            .label("rank"),
            func.count()
            .filter(Notification.read_at.is_(None))
            .over(partition_by=Notification.user_id)
            .label("unread"),
        )
        .join(User, User.id == Notification.user_id)
        .where(Notification.user_id.in_(user_ids), Notification.agency_id == User.agency_id)
        .subquery()
    )
    row = aliased(Notification, ranked)
    query = (
        select(row, ranked.c.unread)
        .where(ranked.c.rank <= BELL_ITEMS)
        .order_by(ranked.c.user_id, ranked.c.rank)
    )
    counts: dict[int, int] = {}
    items: dict[int, list[dict[str, Any]]] = defaultdict(list)
    async with database.sessions() as session:
        for notification, unread in await session.execute(query):
            counts[notification.user_id] = int(unread)
            out = NotificationOut.of(inbox.item(notification))
            items[notification.user_id].append(out.model_dump(mode="json"))
    return {user_id: _text(counts.get(user_id, 0), items[user_id]) for user_id in user_ids}
