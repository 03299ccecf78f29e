"""The demo agency: the world of the seeds' help pages, wired to the sandbox provider."""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.auth.passwords import hash_password, verify_password
from relink.clients.service import create_client
from relink.data_sources.service import create_data_source
from relink.grants.service import create_grant
from relink.kit.crypto import SecretBox
from relink.models import Agency, Client, DailyMetric, Grant, Role, User
from relink.models.base import utcnow
from relink.providers.taxonomy import AuthKind
from relink.sandbox import seed
from relink.sandbox.metrics_data import day_metrics
from relink.users.service import create_user

DEMO_DAYS = 90
DEMO_PASSWORD = "relink-demo-pass"  # noqa: S105  (printed for the demo on purpose)
DEMO_AGENCY_NAME = "Northwind Marketing"
DEMO_AGENCY_SLUG = "northwind"
# Each stored hash is checked against the demo password once per process (argon2 is slow on
# purpose); a handful of demo logins and their changed passwords fit many times over.
DEMO_HASH_CHECKS_KEPT = 64

CLIENT_NAMES = (
    "Acme Dental",
    "Bluebird Bakery",
    "Cedar Law Group",
    "Delta Roofing",
    "Evergreen Vets",
    "Fjord Outdoor",
    "Golden Gym",
    "Harbor Hotel",
    "Indigo Spa",
    "Juniper Florist",
    "Kestrel Motors",
    "Lumen Optics",
)
SHARED_GRANT_CLIENTS = 8
SECOND_GRANT_CLIENTS = 3
API_KEY_CLIENTS = 4


@dataclass(frozen=True)
class DemoLogin:
    email: str
    role: str
    sees: str


DEMO_LOGINS = (
    DemoLogin("admin@demo.relink.test", "admin", "everything"),
    DemoLogin("staff@demo.relink.test", "staff", "all 12 clients"),
    DemoLogin("limited@demo.relink.test", "staff", "Acme Dental and Juniper Florist"),
    DemoLogin("client@demo.relink.test", "client", "Acme Dental, read-only"),
)


async def has_data(session: AsyncSession) -> bool:
    return bool(await session.scalar(select(func.count()).select_from(Agency)))


async def demo_logins_to_show(session: AsyncSession) -> tuple[DemoLogin, ...]:
    """The demo logins a sign-in page may offer: only while the demo agency is the only one.

    Once a second agency exists, or the demo agency is gone, nothing is shown: the install is
    no longer a demo. A demo login that was deactivated or whose password was changed is left
    out, so every login shown signs in with ``DEMO_PASSWORD``.
    """
    agencies = list(await session.execute(select(Agency.id, Agency.slug).limit(2)))
    if len(agencies) != 1 or agencies[0].slug != DEMO_AGENCY_SLUG:
        return ()
    users = await session.scalars(
        select(User).where(
            User.agency_id == agencies[0].id,
            User.email.in_([login.email for login in DEMO_LOGINS]),
            User.is_active.is_(True),
        )
    )
    hashes = {user.email: user.password_hash for user in users}
    shown = []
    for login in DEMO_LOGINS:
        stored = hashes.get(login.email)
        if stored is not None and await asyncio.to_thread(_opens_with_demo_password, stored):
            shown.append(login)
    return tuple(shown)


@functools.lru_cache(maxsize=DEMO_HASH_CHECKS_KEPT)
def _opens_with_demo_password(password_hash: str) -> bool:
    return verify_password(password_hash, DEMO_PASSWORD)


async def seed_demo(session: AsyncSession, *, box: SecretBox, today: date | None = None) -> Agency:
    """One agency with users, 12 clients, two shared OAuth grants, API-key sources, 90 days."""
    today = today or date.today()
    agency = Agency(name=DEMO_AGENCY_NAME, slug=DEMO_AGENCY_SLUG)
    session.add(agency)
    await session.flush()
    clients = [await create_client(session, agency_id=agency.id, name=n) for n in CLIENT_NAMES]
    await _seed_users(session, agency_id=agency.id, clients=clients)

    manager, harbor = seed.IDENTITIES[0], seed.IDENTITIES[1]
    shared = await _oauth_grant(session, box=box, agency_id=agency.id, identity=manager)
    second = await _oauth_grant(session, box=box, agency_id=agency.id, identity=harbor)
    complete_through = today - timedelta(days=1)
    now, midnight = utcnow(), datetime.combine(today, time(), tzinfo=UTC)
    imported_at = min(max(now - timedelta(hours=1), midnight), now)
    links = [
        (shared, client, account)
        for client, account in zip(
            clients[:SHARED_GRANT_CLIENTS], seed.MANAGER_SUB_ACCOUNTS, strict=False
        )
    ]
    links += [
        (second, client, account)
        for client, account in zip(
            clients[SHARED_GRANT_CLIENTS : SHARED_GRANT_CLIENTS + SECOND_GRANT_CLIENTS],
            seed.SECOND_ACCOUNTS,
            strict=True,
        )
    ]
    for client, key_account in zip(clients[-API_KEY_CLIENTS:], seed.API_KEY_ACCOUNTS, strict=True):
        key_grant = await create_grant(
            session,
            box=box,
            agency_id=agency.id,
            provider="sandbox_api",
            auth_kind=AuthKind.API_KEY,
            credentials={"api_key": key_account.demo_api_key},
            identity_name=key_account.account.name,
        )
        links.append((key_grant, client, key_account.account))

    for grant, client, account in links:
        source = await create_data_source(
            session,
            grant=grant,
            client_id=client.id,
            external_account_id=account.id,
            external_account_name=account.name,
            complete_through=complete_through,
        )
        # The demo's history was imported up to yesterday, as if Relink had run all along: an
        # hour ago, or at midnight if that was later (before it, yesterday was not over yet).
        source.last_ok_at = imported_at
        await session.execute(
            insert(DailyMetric),
            [
                {
                    "agency_id": agency.id,
                    "data_source_id": source.id,
                    "day": day,
                    "values": demo_metrics(account.id, day),
                }
                for day in (complete_through - timedelta(days=n) for n in range(DEMO_DAYS))
            ],
        )
    await session.flush()
    return agency


@functools.cache
def _demo_password_hash() -> str:
    # argon2 is slow on purpose; the four demo logins share one password, so hash it once.
    return hash_password(DEMO_PASSWORD)


async def _seed_users(session: AsyncSession, *, agency_id: int, clients: list[Client]) -> None:
    admin, staff, limited, client_login = DEMO_LOGINS
    shared = _demo_password_hash()
    now = utcnow()
    await create_user(
        session,
        agency_id=agency_id,
        email=admin.email,
        name="Ada Admin",
        password=DEMO_PASSWORD,
        password_hash=shared,
        role=Role.ADMIN,
        now=now,
    )
    await create_user(
        session,
        agency_id=agency_id,
        email=staff.email,
        name="Sam Staff",
        password=DEMO_PASSWORD,
        password_hash=shared,
        role=Role.STAFF,
        all_clients=True,
        now=now,
    )
    await create_user(
        session,
        agency_id=agency_id,
        email=limited.email,
        name="Lee Limited",
        password=DEMO_PASSWORD,
        password_hash=shared,
        role=Role.STAFF,
        client_ids=[clients[0].id, clients[9].id],
        now=now,
    )
    await create_user(
        session,
        agency_id=agency_id,
        email=client_login.email,
        name="Casey Client",
        password=DEMO_PASSWORD,
        password_hash=shared,
        role=Role.CLIENT,
        client_id=clients[0].id,
        now=now,
    )


async def _oauth_grant(
    session: AsyncSession, *, box: SecretBox, agency_id: int, identity: seed.Identity
) -> Grant:
    return await create_grant(
        session,
        box=box,
        agency_id=agency_id,
        provider="sandbox",
        auth_kind=AuthKind.OAUTH2,
        credentials={"refresh_token": identity.demo_refresh_token, "access_token": None},
        external_identity=identity.subject,
        identity_name=identity.email,
        scopes=list(seed.SCOPES),
    )


def demo_metrics(account_id: str, day: date) -> dict[str, float]:
    """The sandbox's own numbers for that account and day, so a re-import changes nothing."""
    row = day_metrics(account_id, day)
    return {name: float(row[name]) for name in ("impressions", "clicks", "cost", "conversions")}
