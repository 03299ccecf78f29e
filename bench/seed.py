"""Seeding an agency at scale, set-based: one INSERT per batch of rows, never one per row.

The agency grows in steps (1k, 10k, 100k data sources; ten per client) so each size is measured
on the same database. Its users, one of each role a page meets: an admin, a staff user with
every client, a staff user limited to 50 clients, a client's own login; and the bell's pollers
(staff with every client), all sharing one password hash.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from relink.api_tokens.service import create_token
from relink.auth.passwords import hash_password
from relink.auth.sessions import start_session
from relink.db import Database
from relink.kit.crypto import SecretBox
from relink.models import (
    Agency,
    Client,
    DataSource,
    Grant,
    Notification,
    Role,
    TokenScope,
    User,
    UserClientAccess,
)
from relink.models.base import utcnow
from relink.providers.taxonomy import AuthKind
from relink.status import DataSourceStatus
from relink.users.service import create_user

PASSWORD = "scale-bench-password"  # noqa: S105  (a throw-away database)
DATA_SOURCES_PER_CLIENT = 10
GRANTS = 100
LIMITED_CLIENTS = 50
BATCH = 5_000
# Share of data sources seeded in each status (the rest connected).
SHARES = ((DataSourceStatus.FAILING, 0.02), (DataSourceStatus.DISCONNECTED, 0.01))
PAUSED_EVERY = 97


@dataclass
class Agency_:
    agency_id: int
    admin_id: int
    # Limited to LIMITED_CLIENTS clients.
    staff_id: int
    staff_all_id: int
    grant_ids: list[int]
    # Each grant's auth kind, in the order of grant_ids (its data sources keep a copy).
    grant_kinds: list[AuthKind]
    data_sources: int = 0
    clients: int = 0
    # A client's own login, added with the first clients (None until then).
    client_user_id: int | None = None
    # Session tokens of signed-in users, by user id (the bench builds their cookies).
    tokens: dict[int, str] = field(default_factory=dict)
    # Read-only API tokens' values, by user id, for Authorization: Bearer.
    bearers: dict[int, str] = field(default_factory=dict)


async def create_agency(database: Database, box: SecretBox) -> Agency_:
    """An empty agency with its grants, its admin and its two staff users."""
    now = utcnow()
    shared_hash = hash_password(PASSWORD)
    async with database.transaction() as session:
        agency = Agency(name="Scale Agency", slug="scale")
        session.add(agency)
        await session.flush()
        admin = await create_user(
            session,
            agency_id=agency.id,
            email="admin@scale.test",
            name="Admin",
            password=PASSWORD,
            password_hash=shared_hash,
            role=Role.ADMIN,
            now=now,
        )
        staff = await create_user(
            session,
            agency_id=agency.id,
            email="staff@scale.test",
            name="Limited Staff",
            password=PASSWORD,
            password_hash=shared_hash,
            role=Role.STAFF,
            now=now,
        )
        staff_all = await create_user(
            session,
            agency_id=agency.id,
            email="staff-all@scale.test",
            name="Staff With Every Client",
            password=PASSWORD,
            password_hash=shared_hash,
            role=Role.STAFF,
            all_clients=True,
            now=now,
        )
        sealed = box.seal({"refresh_token": "bench", "access_token": "bench"})
        await session.execute(
            insert(Grant),
            [
                {
                    "agency_id": agency.id,
                    "provider": "sandbox",
                    "auth_kind": AuthKind.OAUTH2 if n % 10 else AuthKind.API_KEY,
                    "external_identity": f"user-{n}",
                    "identity_name": f"login{n}@bench.test",
                    "credentials": sealed,
                    "scopes": [],
                    "created_at": now,
                    "updated_at": now,
                    "extra": {},
                }
                for n in range(GRANTS)
            ],
        )
        grants = list(await session.execute(select(Grant.id, Grant.auth_kind).order_by(Grant.id)))
        seeded = Agency_(
            agency.id,
            admin.id,
            staff.id,
            staff_all.id,
            [g.id for g in grants],
            [g.auth_kind for g in grants],
        )
        for user_id in (admin.id, staff.id, staff_all.id):
            started = await start_session(session, user=await _user(session, user_id), now=now)
            seeded.tokens[user_id] = started.token
            seeded.bearers[user_id] = await _api_token(session, user_id, now=now)
    return seeded


async def _user(session: AsyncSession, user_id: int) -> User:
    found = await session.get(User, user_id)
    assert found is not None
    return found


async def grow(database: Database, agency: Agency_, *, data_sources: int) -> None:
    """Add clients and data sources until the agency has ``data_sources`` of them."""
    rng = random.Random(data_sources)
    now = utcnow()
    clients = data_sources // DATA_SOURCES_PER_CLIENT
    async with database.transaction() as session:
        if clients > agency.clients:
            await session.execute(
                insert(Client),
                [
                    {
                        "agency_id": agency.agency_id,
                        "name": f"Client {n:05d} {_WORDS[n % len(_WORDS)]}",
                        "created_at": now,
                        "updated_at": now,
                    }
                    for n in range(agency.clients, clients)
                ],
            )
        client_rows = list(
            await session.execute(
                select(Client.id, Client.name)
                .where(Client.agency_id == agency.agency_id)
                .order_by(Client.id)
            )
        )
        if agency.clients == 0:
            # The limited staff user's 50 clients: spread over the first size's clients.
            step = max(1, len(client_rows) // LIMITED_CLIENTS)
            chosen = [cid for cid, _ in client_rows[::step][:LIMITED_CLIENTS]]
            await session.execute(
                insert(UserClientAccess),
                [
                    {"agency_id": agency.agency_id, "user_id": agency.staff_id, "client_id": c}
                    for c in chosen
                ],
            )
            agency.client_user_id = await _add_client_user(
                session, agency, client_id=chosen[len(chosen) // 2], now=now
            )
    agency.clients = clients
    yesterday = date.today() - timedelta(days=1)
    for start in range(agency.data_sources, data_sources, BATCH):
        rows = []
        for n in range(start, min(start + BATCH, data_sources)):
            client_id, client_name = client_rows[n % clients]
            rows.append(
                {
                    "agency_id": agency.agency_id,
                    "client_id": client_id,
                    "client_name": client_name,
                    "grant_id": agency.grant_ids[n % GRANTS],
                    "auth_kind": agency.grant_kinds[n % GRANTS],
                    "provider": "sandbox",
                    "external_account_id": f"acct-{n}",
                    "external_account_name": f"Account {n} {_WORDS[(n * 7) % len(_WORDS)]}",
                    "status": _status(rng, n),
                    "complete_through": yesterday,
                    "consecutive_failures": 0,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        async with database.transaction() as session:
            await session.execute(insert(DataSource), rows)
    agency.data_sources = data_sources
    await analyze(database)


async def _add_client_user(
    session: AsyncSession, agency: Agency_, *, client_id: int, now: datetime
) -> int:
    """A client's own login (one of the limited staff's clients), signed in."""
    user = await create_user(
        session,
        agency_id=agency.agency_id,
        email="client@scale.test",
        name="Client Login",
        password=PASSWORD,
        password_hash=hash_password(PASSWORD),
        role=Role.CLIENT,
        client_id=client_id,
        now=now,
    )
    started = await start_session(session, user=user, now=now)
    agency.tokens[user.id] = started.token
    agency.bearers[user.id] = await _api_token(session, user.id, now=now)
    return user.id


async def _api_token(session: AsyncSession, user_id: int, *, now: datetime) -> str:
    """A read-only API token of the user, as a script holds it."""
    created = await create_token(
        session,
        user=await _user(session, user_id),
        name="bench",
        scope=TokenScope.READ,
        expires_at=None,
        actor="bench",
        now=now,
    )
    return created.value.text


def _status(rng: random.Random, n: int) -> DataSourceStatus:
    if n % PAUSED_EVERY == 0:
        return DataSourceStatus.PAUSED
    draw = rng.random()
    for status, share in SHARES:
        if draw < share:
            return status
        draw -= share
    return DataSourceStatus.CONNECTED


async def add_pollers(database: Database, agency: Agency_, *, count: int) -> list[int]:
    """``count`` staff users with every client, signed in, each with a few notifications."""
    now = utcnow()
    shared_hash = hash_password(PASSWORD)
    ids: list[int] = []
    async with database.transaction() as session:
        for n in range(count):
            user = await create_user(
                session,
                agency_id=agency.agency_id,
                email=f"poller{n}@scale.test",
                name=f"Poller {n}",
                password=PASSWORD,
                password_hash=shared_hash,
                role=Role.STAFF,
                all_clients=True,
                now=now,
            )
            ids.append(user.id)
            started = await start_session(session, user=user, now=now)
            agency.tokens[user.id] = started.token
        await session.execute(
            insert(Notification),
            [
                {
                    "agency_id": agency.agency_id,
                    "user_id": user_id,
                    "kind": "data_delayed",
                    "payload": _payload(k),
                    "read_at": None if k % 2 else now,
                    "created_at": now,
                    "updated_at": now,
                }
                for user_id in ids
                for k in range(12)
            ],
        )
    return ids


def _payload(k: int) -> dict[str, object]:
    return {
        "kind": "data_delayed",
        "incident_id": k,
        "provider": "sandbox",
        "provider_name": "Sandbox",
        "opened_at": "2026-01-01T00:00:00+00:00",
        "client_names": [f"Client {k:05d}"],
        "error_class": "provider_unavailable",
    }


async def unread_notification_ids(database: Database, user_ids: list[int]) -> dict[int, list[int]]:
    """Each user's unread notifications (the bench marks them read to trigger updates)."""
    found: dict[int, list[int]] = {user_id: [] for user_id in user_ids}
    async with database.transaction() as session:
        rows = await session.execute(
            select(Notification.user_id, Notification.id)
            .where(Notification.user_id.in_(user_ids), Notification.read_at.is_(None))
            .order_by(Notification.id)
        )
        for user_id, notification_id in rows:
            found[user_id].append(notification_id)
    return found


async def visible_clients(
    database: Database, agency: Agency_, *, user_id: int, count: int
) -> tuple[int, list[str]]:
    """A client the user may see (the middle one by id), and the numbers of ``count`` of
    their clients spread over them, to search for."""
    async with database.transaction() as session:
        if user_id == agency.staff_id:
            ids = select(UserClientAccess.client_id).where(UserClientAccess.user_id == user_id)
            query = select(Client.id, Client.name).where(Client.id.in_(ids))
        else:
            query = select(Client.id, Client.name).where(Client.agency_id == agency.agency_id)
        rows = list(await session.execute(query.order_by(Client.id)))
    client_id = rows[len(rows) // 2][0]
    step = max(1, len(rows) // count)
    return client_id, [name.split()[1] for _, name in rows[::step][:count]]


async def own_client(database: Database, agency: Agency_) -> int:
    """The client of the client's own login."""
    async with database.transaction() as session:
        found = await session.scalar(select(User.client_id).where(User.id == agency.client_user_id))
    assert found is not None
    return found


async def analyze(database: Database) -> None:
    """What autovacuum does soon after a bulk load: the planner needs the statistics, and on
    PostgreSQL the trigram indexes their pending entries merged and index-only scans a
    visibility map (VACUUM, outside a transaction)."""
    async with database.engine.connect() as connection:
        if database.is_sqlite:
            await connection.execute(text("ANALYZE"))
            await connection.commit()
        else:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.execute(text("VACUUM ANALYZE"))


def new_token() -> str:
    return secrets.token_urlsafe(32)


_WORDS = (
    "Dental",
    "Bakery",
    "Law",
    "Fitness",
    "Garden",
    "Motors",
    "Realty",
    "Clinic",
    "Coffee",
    "Studio",
    "Travel",
    "Plumbing",
    "Salon",
    "Books",
    "Pets",
    "Roofing",
    "Vision",
    "Yoga",
)
