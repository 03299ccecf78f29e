"""Scale figures: 10k clients and 100k data sources in one database.

Measures the Data Sources page query (first page, a deep keyset page, sorted by status and
filtered), and a set-based disconnect of one grant shared by 10k data sources.
"""

from __future__ import annotations

import random
import time
from datetime import date, timedelta
from typing import Any

from sqlalchemy import insert, select, text

from relink import migrate
from relink.data_sources.rows import Filters, Sort, list_rows
from relink.db import Database
from relink.grants.failures import apply_grant_failure
from relink.kit.crypto import SecretBox, generate_key
from relink.models import Agency, Client, DataSource, Grant, Role, User
from relink.models.base import utcnow
from relink.providers.classify import Classification
from relink.providers.taxonomy import AuthKind, ErrorClass
from relink.status import DataSourceStatus
from relink.users.service import create_user

CLIENTS = 10_000
DATA_SOURCES = 100_000
GRANTS = 100
SHARED = 10_000  # data sources on the one grant that breaks
BATCH = 5_000


async def run(database_url: str) -> dict[str, Any]:
    """Seed at scale, then time the queries; answers the figures in milliseconds."""
    migrate.upgrade(database_url)
    database = Database(database_url)
    box = SecretBox([generate_key()])
    figures: dict[str, Any] = {"clients": CLIENTS, "data_sources": DATA_SOURCES}
    try:
        started = time.perf_counter()
        admin_id, shared_grant_id = await _seed(database, box)
        figures["seed_seconds"] = round(time.perf_counter() - started, 2)
        figures |= await _page_timings(database, admin_id)
        figures |= await _disconnect_timing(database, shared_grant_id)
    finally:
        await database.dispose()
    return figures


async def _seed(database: Database, box: SecretBox) -> tuple[int, int]:
    rng = random.Random(1)
    async with database.transaction() as session:
        agency = Agency(name="Scale Agency", slug="scale")
        session.add(agency)
        await session.flush()
        admin = await create_user(
            session,
            agency_id=agency.id,
            email="admin@scale.test",
            name="Admin",
            password="scale-bench-pw",  # noqa: S106  (a throw-away database)
            role=Role.ADMIN,
            now=utcnow(),
        )
        now = utcnow()
        await session.execute(
            insert(Client),
            [
                {
                    "agency_id": agency.id,
                    "name": f"Client {n:05d}",
                    "created_at": now,
                    "updated_at": now,
                }
                for n in range(CLIENTS)
            ],
        )
        sealed = box.seal({"refresh_token": "bench", "access_token": "bench"})
        await session.execute(
            insert(Grant),
            [
                {
                    "agency_id": agency.id,
                    "provider": "sandbox",
                    "auth_kind": AuthKind.OAUTH2,
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
        client_ids = list(await session.scalars(select(Client.id).order_by(Client.id)))
        grant_ids = list(await session.scalars(select(Grant.id).order_by(Grant.id)))
        admin_id, agency_id = admin.id, agency.id
    yesterday = date.today() - timedelta(days=1)
    for start in range(0, DATA_SOURCES, BATCH):
        rows = []
        for n in range(start, min(start + BATCH, DATA_SOURCES)):
            grant_id = grant_ids[0] if n < SHARED else grant_ids[1 + n % (GRANTS - 1)]
            status = DataSourceStatus.FAILING if rng.random() < 0.02 else DataSourceStatus.CONNECTED
            rows.append(
                {
                    "agency_id": agency_id,
                    "client_id": client_ids[n % CLIENTS],
                    "grant_id": grant_id,
                    "provider": "sandbox",
                    "external_account_id": f"acct-{n}",
                    "external_account_name": f"Account {n}",
                    "status": status,
                    "complete_through": yesterday,
                    "consecutive_failures": 0,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        async with database.transaction() as session:
            await session.execute(insert(DataSource), rows)
    async with database.engine.connect() as connection:
        # What autovacuum does soon after a bulk load; the planner needs the statistics.
        await connection.execute(text("ANALYZE"))
        await connection.commit()
    return admin_id, grant_ids[0]


async def _timed(label: str, figures: dict[str, Any], work: Any) -> Any:
    started = time.perf_counter()
    result = await work()
    figures[label] = round((time.perf_counter() - started) * 1000, 1)
    return result


async def _page_timings(database: Database, admin_id: int) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    today = date.today()
    async with database.transaction() as session:
        admin = await session.get(User, admin_id)
        assert admin is not None

        async def first() -> Any:
            return await list_rows(session, user=admin, today=today, sort=Sort.STATUS, limit=50)

        page = await _timed("page_first_status_sort_ms", figures, first)
        cursor = page.next_cursor
        for _ in range(20):
            page = await list_rows(
                session, user=admin, today=today, sort=Sort.STATUS, limit=50, cursor=cursor
            )
            cursor = page.next_cursor

        async def deep() -> Any:
            return await list_rows(
                session, user=admin, today=today, sort=Sort.STATUS, limit=50, cursor=cursor
            )

        await _timed("page_21_status_sort_ms", figures, deep)

        async def by_client() -> Any:
            return await list_rows(session, user=admin, today=today, sort=Sort.CLIENT, limit=50)

        await _timed("page_first_client_sort_ms", figures, by_client)

        async def failing() -> Any:
            return await list_rows(
                session,
                user=admin,
                today=today,
                limit=50,
                filters=Filters(status=DataSourceStatus.FAILING),
            )

        await _timed("page_filtered_failing_ms", figures, failing)

        async def search() -> Any:
            return await list_rows(
                session, user=admin, today=today, limit=50, filters=Filters(q="Client 0421")
            )

        await _timed("page_search_ms", figures, search)
    return figures


async def _disconnect_timing(database: Database, grant_id: int) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    classification = Classification(ErrorClass.AUTH_REVOKED, "bench")
    async with database.transaction() as session:
        grant = await session.get(Grant, grant_id)
        assert grant is not None

        async def disconnect() -> Any:
            return await apply_grant_failure(
                session,
                grant=grant,
                classification=classification,
                now=utcnow(),
                actor="bench",
            )

        applied = await _timed("disconnect_shared_grant_ms", figures, disconnect)
        figures["disconnected"] = len(applied.disconnected_ids)
    return figures
