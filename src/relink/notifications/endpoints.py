"""The inbox over HTTP: list, count, read, act, and a live stream of the count.

Served under ``/api/v1`` (documented) and ``/api`` (the pages', hidden: kit/versioned_routes.py),
but for the bell's own paths (its cached count, its stream: ``/api`` only) and the count as a
script asks for it (``/api/v1`` only).
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import Annotated

from fastapi import Query, Request
from sse_starlette import EventSourceResponse, ServerSentEvent

from relink.auth.access import TOLD_ROLES, is_staff_or_admin
from relink.db import DATABASE_ERRORS, Database, database_unavailable
from relink.dependencies import CurrentUser, DbSession, NotSignedIn, Now, session_token
from relink.errors import DATABASE_RETRY_AFTER_SECONDS
from relink.kit.problems import problem_responses
from relink.kit.row_ids import RowId
from relink.kit.versioned_routes import VersionedRouter
from relink.models import User
from relink.notifications import bell
from relink.notifications import service as inbox
from relink.notifications.bell_cache import BellCache
from relink.notifications.live import get_broker
from relink.notifications.schemas import (
    ActionTaken,
    NotificationOut,
    NotificationPage,
    UnreadCount,
)

routes = VersionedRouter("/notifications", tags=["notifications"])

_ACT_ON_ONE = problem_responses(401, 403, 404, 422, 503)

# Keeps proxies from closing an idle stream.
PING_SECONDS = 15


@routes.get(
    "",
    operation_id="list_notifications",
    summary="List notifications",
    responses=problem_responses(401, 422, 503),
)
async def list_notifications(
    user: CurrentUser,
    session: DbSession,
    show: Annotated[inbox.Show, Query(description="all, unread, open or resolved")] = "all",
    kind: Annotated[str | None, Query(description="Only this kind (reconnect_needed, ...)")] = None,
    limit: Annotated[int, Query(ge=1, le=100, description="Rows per page (1 to 100)")] = 20,
    cursor: Annotated[str | None, Query(description="The next_cursor of the previous page")] = None,
) -> NotificationPage:
    """Unread first, then newest; filter by state or kind."""
    if not is_staff_or_admin(user):
        # Client logins are never told about incidents: their inbox is empty by rule.
        return NotificationPage(items=[], next_cursor=None, unread=0)
    page = await inbox.list_notifications(
        session, user=user, show=show, kind=kind, limit=limit, cursor=cursor
    )
    return NotificationPage(
        items=[NotificationOut.of(i) for i in page.items],
        next_cursor=page.next_cursor,
        unread=await inbox.unread_count(session, user=user),
    )


@routes.v1.get(
    "/unread-count",
    operation_id="count_unread_notifications",
    summary="Count unread notifications",
    responses=problem_responses(401, 503),
)
async def count_unread(user: CurrentUser, session: DbSession) -> UnreadCount:
    """How many notifications the caller has not read (always 0 for a client login)."""
    if not is_staff_or_admin(user):
        return UnreadCount(unread=0)
    return UnreadCount(unread=await inbox.unread_count(session, user=user))


@routes.legacy.get("/unread-count")
async def unread_count(request: Request, now: Now) -> UnreadCount:
    """The bell's poll: answered from this process's memory until the user changes, else by
    one statement that checks the session and counts (no ORM, no transaction of its own)."""
    token = session_token(request)
    if token is None:
        raise NotSignedIn()
    cache: BellCache = request.app.state.bell_cache
    seat = await cache.seat(request.app.state.database, token=token, now=now)
    if seat is None:
        request.session.clear()
        raise NotSignedIn()
    # Client logins are never told about incidents: their count is 0 by rule.
    return UnreadCount(unread=seat.unread if seat.role in TOLD_ROLES else 0)


@routes.post(
    "/{notification_id}/read",
    status_code=204,
    operation_id="mark_notification_read",
    summary="Mark a notification read",
    responses=_ACT_ON_ONE,
)
async def mark_read(
    notification_id: RowId, user: CurrentUser, session: DbSession, now: Now
) -> None:
    await inbox.mark_read(session, user=user, notification_id=notification_id, now=now)


@routes.post(
    "/read-all",
    operation_id="mark_all_notifications_read",
    summary="Mark every notification read",
    responses=problem_responses(401, 403, 503),
)
async def mark_all_read(user: CurrentUser, session: DbSession, now: Now) -> UnreadCount:
    await inbox.mark_all_read(session, user=user, now=now)
    return UnreadCount(unread=0)


@routes.post(
    "/{notification_id}/act",
    operation_id="act_on_notification",
    summary="Take a notification's action",
    responses=_ACT_ON_ONE,
)
async def take_action(
    notification_id: RowId, user: CurrentUser, session: DbSession, now: Now
) -> ActionTaken:
    """Mark read and answer where the action leads."""
    path = await inbox.take_action(session, user=user, notification_id=notification_id, now=now)
    return ActionTaken(redirect=path)


@routes.legacy.get("/stream")
async def stream(request: Request, user: CurrentUser) -> EventSourceResponse:
    """Server-sent events: the unread count and newest items now and after every change."""
    database: Database = request.app.state.database
    return EventSourceResponse(_events(database, user), ping=PING_SECONDS)


async def _events(database: Database, user: User) -> AsyncIterator[ServerSentEvent]:
    """The stream's events; while the database is away it ends cleanly, saying when to come
    back: the browser's EventSource opens it again by itself (an error raised here, after the
    answer began, would drop the connection instead)."""
    events = _live_events(database, user)
    try:
        # Closed with this stream, so its subscription ends when the browser goes.
        async with aclosing(events):
            async for event in events:
                yield event
    except DATABASE_ERRORS as failed:
        if database_unavailable(failed) is None:
            raise
        retry_ms = DATABASE_RETRY_AFTER_SECONDS * 1000
        yield ServerSentEvent(comment="the database is not answering", retry=retry_ms)


async def _live_events(database: Database, user: User) -> AsyncGenerator[ServerSentEvent]:
    broker = get_broker()
    if broker is None or not is_staff_or_admin(user):
        # Nothing will ever arrive for a client login: one empty snapshot and the stream ends.
        yield await _snapshot(database, user)
        return
    subscription = broker.subscribe(user.id)
    try:
        yield await _snapshot(database, user)
        async for update in subscription:
            # The broker rendered it once for every stream of this user (None: render here).
            if update is None:
                yield await _snapshot(database, user)
            else:
                yield ServerSentEvent(data=update, event="notifications")
    finally:
        subscription.close()


async def _snapshot(database: Database, user: User) -> ServerSentEvent:
    if not is_staff_or_admin(user):
        return ServerSentEvent(data=json.dumps({"unread": 0, "items": []}), event="notifications")
    return ServerSentEvent(data=await bell.render_one(database, user), event="notifications")
