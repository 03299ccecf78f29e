"""A grant shared by many clients: each notification names a few, counts all, and its page
lists every one from the database."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.demo import DEMO_PASSWORD
from relink.models import Client, DataSource, Notification
from relink.notifications import kinds
from relink.notifications.fanout import NAMED_CLIENTS
from relink.worker.context import JobContext
from relink.worker.sweep import sweep
from tests.fixtures.app_server import signed_in
from tests.fixtures.demo import Demo
from tests.fixtures.many_sources import add_shared_clients
from tests.fixtures.sandbox import SandboxServer

MANAGER = "manager@sandbox.test"
EXTRA_CLIENTS = 120


async def _revoke_shared(ctx: JobContext, sandbox: SandboxServer) -> None:
    sandbox.add_fault("revoke_grant", grant=MANAGER)
    await sweep(ctx)


async def _shared_client_names(session: AsyncSession, demo: Demo) -> set[str]:
    return set(
        await session.scalars(
            select(Client.name)
            .join(DataSource, DataSource.client_id == Client.id)
            .where(DataSource.grant_id == demo.shared_grant_id)
        )
    )


async def _admins_notification(session: AsyncSession, demo: Demo) -> Notification:
    found = await session.scalar(select(Notification).where(Notification.user_id == demo.admin.id))
    assert found is not None
    return found


async def test_the_notification_names_at_most_ten_clients_and_counts_them_all(
    session: AsyncSession, demo: Demo, ctx: JobContext, sandbox: SandboxServer
) -> None:
    await add_shared_clients(session, demo, EXTRA_CLIENTS)
    everyone = await _shared_client_names(session, demo)

    await _revoke_shared(ctx, sandbox)

    note = kinds.parse((await _admins_notification(session, demo)).payload)
    assert len(note.client_names) == NAMED_CLIENTS
    assert note.client_names == sorted(everyone)[:NAMED_CLIENTS]
    assert note.client_count == len(everyone)
    assert len(note.data_source_ids) <= NAMED_CLIENTS
    assert note.clients_text.endswith(f"and {len(everyone) - 3} more")


async def test_the_notification_page_lists_every_affected_client_page_by_page(
    session: AsyncSession, demo: Demo, ctx: JobContext, sandbox: SandboxServer, app_url: str
) -> None:
    await add_shared_clients(session, demo, EXTRA_CLIENTS)
    everyone = await _shared_client_names(session, demo)
    await _revoke_shared(ctx, sandbox)
    notification = await _admins_notification(session, demo)

    admin = signed_in(app_url, demo.admin.email, DEMO_PASSWORD)
    pages = [admin.get(f"/notifications/{notification.id}")]
    while 'rel="next"' in pages[-1].text:
        pages.append(admin.get(f"/notifications/{notification.id}?page={len(pages) + 1}"))

    assert all(page.status_code == 200 for page in pages) and len(pages) > 1
    shown = "".join(page.text for page in pages)
    assert all(name in shown for name in everyone)
    assert f"Affected clients ({len(everyone)})" in pages[0].text


async def test_a_limited_staff_user_s_page_lists_only_their_clients(
    session: AsyncSession, demo: Demo, ctx: JobContext, sandbox: SandboxServer, app_url: str
) -> None:
    await add_shared_clients(session, demo, EXTRA_CLIENTS)
    await _revoke_shared(ctx, sandbox)
    notification = await session.scalar(
        select(Notification).where(Notification.user_id == demo.limited.id)
    )
    assert notification is not None

    limited = signed_in(app_url, demo.limited.email, DEMO_PASSWORD)
    page = limited.get(f"/notifications/{notification.id}")

    assert page.status_code == 200
    assert "Affected clients (1)" in page.text and "Zz Extra Client" not in page.text
