"""Who is told what when the shared grant is revoked: one item per person, only their clients."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.auth.access import is_staff_or_admin, visible_client_ids
from relink.incidents import service as incidents
from relink.models import Notification, Role, User
from relink.models.base import utcnow
from relink.notifications import service as inbox
from relink.notifications.kinds import ReconnectNeeded
from relink.providers.taxonomy import ErrorClass
from relink.users.service import create_user, set_client_access
from relink.worker.context import JobContext
from relink.worker.sweep import sweep
from tests.fixtures.clock import Clock
from tests.fixtures.demo import Demo, data_sources_of
from tests.fixtures.sandbox import SandboxServer

MANAGER = "manager@sandbox.test"
SHARED_CLIENTS = {
    "Acme Dental",
    "Bluebird Bakery",
    "Cedar Law Group",
    "Delta Roofing",
    "Evergreen Vets",
    "Fjord Outdoor",
    "Golden Gym",
    "Harbor Hotel",
}


async def _revoke_shared(ctx: JobContext, sandbox: SandboxServer) -> None:
    sandbox.add_fault("revoke_grant", grant=MANAGER)
    await sweep(ctx)


async def _items(session: AsyncSession, user: object) -> list[ReconnectNeeded]:
    page = await inbox.list_notifications(session, user=user)  # type: ignore[arg-type]
    return [i.content for i in page.items]  # type: ignore[misc]


async def test_the_admin_gets_one_reconnect_notification_naming_all_eight_clients(
    session: AsyncSession, demo: Demo, ctx: JobContext, sandbox: SandboxServer
) -> None:
    await _revoke_shared(ctx, sandbox)

    items = await _items(session, demo.admin)

    assert len(items) == 1
    note = items[0]
    assert note.kind == "reconnect_needed"
    assert set(note.client_names) == SHARED_CLIENTS
    assert note.provider_name == "Sandbox Ads"
    assert note.opened_at is not None
    assert note.action.label == "Reconnect"
    assert note.action.path == f"/grants/{demo.shared_grant_id}/reconnect"


async def test_the_all_clients_staff_user_gets_the_same_one(
    session: AsyncSession, demo: Demo, ctx: JobContext, sandbox: SandboxServer
) -> None:
    await _revoke_shared(ctx, sandbox)

    items = await _items(session, demo.staff)

    assert len(items) == 1 and set(items[0].client_names) == SHARED_CLIENTS


async def test_the_limited_staff_user_sees_only_their_own_client(
    session: AsyncSession, demo: Demo, ctx: JobContext, sandbox: SandboxServer
) -> None:
    await _revoke_shared(ctx, sandbox)

    items = await _items(session, demo.limited)

    assert len(items) == 1
    assert items[0].client_names == ["Acme Dental"]
    assert len(items[0].data_source_ids) == 1


async def test_a_staff_user_sharing_no_client_gets_nothing(
    session: AsyncSession, demo: Demo, ctx: JobContext, sandbox: SandboxServer
) -> None:
    await set_client_access(
        session, user=demo.limited, client_ids=[demo.clients[9].id], now=utcnow()
    )
    await session.commit()

    await _revoke_shared(ctx, sandbox)

    assert await _items(session, demo.limited) == []


async def test_the_client_user_is_never_told(
    session: AsyncSession, demo: Demo, ctx: JobContext, sandbox: SandboxServer
) -> None:
    await _revoke_shared(ctx, sandbox)

    count = await session.scalar(
        select(func.count()).where(Notification.user_id == demo.client_user.id)
    )
    assert count == 0


async def test_later_failures_of_the_same_cause_join_the_same_notification(
    session: AsyncSession, demo: Demo, ctx: JobContext, sandbox: SandboxServer, clock: Clock
) -> None:
    await _revoke_shared(ctx, sandbox)
    before = await session.scalar(select(func.count()).select_from(Notification))

    clock.advance(hours=1)
    await sweep(ctx)

    assert await session.scalar(select(func.count()).select_from(Notification)) == before == 3


async def test_a_growing_incident_grows_the_client_list_not_the_inbox(
    session: AsyncSession, demo: Demo, clock: Clock
) -> None:
    sources = await data_sources_of(session, demo.shared_grant_id)
    for source in sources[:2]:
        await incidents.open_or_extend(
            session,
            agency_id=demo.agency.id,
            key="grant:1:auth",
            error_class=ErrorClass.AUTH_REVOKED,
            provider="sandbox",
            now=clock(),
            grant_id=demo.shared_grant_id,
            data_source_ids=[source.id],
        )
    await session.commit()

    items = await _items(session, demo.admin)

    assert len(items) == 1 and len(items[0].client_names) == 2


async def test_repairing_the_cause_resolves_it_for_everyone_and_clears_the_count(
    session: AsyncSession, demo: Demo, ctx: JobContext, sandbox: SandboxServer, clock: Clock
) -> None:
    await _revoke_shared(ctx, sandbox)

    await incidents.resolve(
        session,
        agency_id=demo.agency.id,
        keys=[f"grant:{demo.shared_grant_id}:auth"],
        now=clock(),
        by="test",
    )
    await session.commit()

    for user in (demo.admin, demo.staff, demo.limited):
        assert await inbox.unread_count(session, user=user) == 0
        page = await inbox.list_notifications(session, user=user, show="resolved")
        assert len(page.items) == 1 and page.items[0].resolved


async def test_a_new_staff_user_is_told_of_what_is_already_broken(
    session: AsyncSession, demo: Demo, ctx: JobContext, sandbox: SandboxServer
) -> None:
    await _revoke_shared(ctx, sandbox)

    newcomer = await create_user(
        session,
        agency_id=demo.agency.id,
        email="new@agency.test",
        name="New",
        password="long-enough-pw",
        role=Role.STAFF,
        all_clients=True,
        now=utcnow(),
    )
    await session.commit()

    assert await inbox.unread_count(session, user=newcomer) == 1


async def test_newly_granted_access_subscribes_the_user(
    session: AsyncSession, demo: Demo, ctx: JobContext, sandbox: SandboxServer
) -> None:
    await set_client_access(
        session, user=demo.limited, client_ids=[demo.clients[9].id], now=utcnow()
    )
    await session.commit()
    await _revoke_shared(ctx, sandbox)

    await set_client_access(
        session,
        user=demo.limited,
        client_ids=[demo.clients[9].id, demo.clients[3].id],
        now=utcnow(),
    )
    await session.commit()

    items = await _items(session, demo.limited)
    assert len(items) == 1 and items[0].client_names == ["Delta Roofing"]


async def test_our_misconfigured_app_alerts_admins_only(
    session: AsyncSession, demo: Demo, ctx: JobContext, sandbox: SandboxServer
) -> None:
    sandbox.add_fault("invalid_client")

    await sweep(ctx)

    assert [i.kind for i in await _items(session, demo.admin)] == ["operations_alert"]
    assert await _items(session, demo.staff) == []


async def test_an_outage_tells_of_delay_not_reconnect(
    session: AsyncSession, demo: Demo, ctx: JobContext, sandbox: SandboxServer, clock: Clock
) -> None:
    sandbox.add_fault("server_error", status=503)

    for _ in range(5):
        await sweep(ctx)
        clock.advance(hours=1)

    kinds = {i.kind for i in await _items(session, demo.admin)}
    assert kinds == {"data_delayed"}


async def test_an_api_key_rejection_asks_to_re_enter_the_key(
    session: AsyncSession, demo: Demo, ctx: JobContext, sandbox: SandboxServer
) -> None:
    from relink.sandbox import seed

    sandbox.add_fault("rotate_api_key", account=seed.API_KEY_ACCOUNTS[0].account.id)

    await sweep(ctx)

    (note,) = await _items(session, demo.admin)
    assert note.action.label == "Re-enter API key"
    assert "copied whole" in note.hint
    assert note.action.path.startswith("/data-sources/")


async def _recipients_world(session: AsyncSession, demo: Demo) -> list[User]:
    """Every kind of user the rule knows, besides the demo's own four."""
    agency = demo.agency.id
    made = [
        await create_user(
            session,
            agency_id=agency,
            email=f"{name}@agency.test",
            name=name,
            password="long-enough-pw",
            role=role,
            all_clients=every,
            client_ids=ids,
            now=utcnow(),
        )
        for name, role, every, ids in (
            ("second-admin", Role.ADMIN, False, ()),
            ("narrow", Role.STAFF, False, (demo.clients[1].id, demo.clients[10].id)),
            ("far", Role.STAFF, False, (demo.clients[11].id,)),
            ("gone-staff", Role.STAFF, True, ()),
            ("gone-admin", Role.ADMIN, False, ()),
            ("gone-narrow", Role.STAFF, False, (demo.clients[0].id,)),
        )
    ]
    for user in made:
        user.is_active = not user.name.startswith("gone")
    await session.flush()
    return [demo.admin, demo.staff, demo.limited, demo.client_user, *made]


async def test_fan_out_tells_each_user_exactly_the_clients_visible_client_ids_gives_them(
    session: AsyncSession, demo: Demo, clock: Clock
) -> None:
    # given: users of every role, scope and state, and an incident on the shared grant
    users = await _recipients_world(session, demo)
    shared = await data_sources_of(session, demo.shared_grant_id)
    linked_clients = {s.client_id for s in shared}

    # when
    opened = await incidents.open_or_extend(
        session,
        agency_id=demo.agency.id,
        key=f"grant:{demo.shared_grant_id}:auth",
        error_class=ErrorClass.AUTH_REVOKED,
        provider="sandbox",
        now=clock(),
        grant_id=demo.shared_grant_id,
        data_source_ids=[s.id for s in shared],
    )
    await session.commit()

    # then: the notification of each user names exactly what the access rule lets them see
    names = {c.id: c.name for c in demo.clients}
    told = {
        n.user_id: n.payload
        for n in await session.scalars(
            select(Notification).where(Notification.incident_id == opened.incident.id)
        )
    }
    for user in users:
        visible = set(await session.scalars(visible_client_ids(user))) & linked_clients
        if not is_staff_or_admin(user) or not visible:
            assert user.id not in told, user.email
            continue
        assert told[user.id]["client_names"] == sorted(names[c] for c in visible), user.email
    assert {u.name for u in users if u.id in told} == {
        demo.admin.name,
        demo.staff.name,
        demo.limited.name,
        "second-admin",
        "narrow",
    }
