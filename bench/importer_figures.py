"""Credentials on request under load (issue 25): ``GET /api/v1/data-sources/{id}/credentials``
by 200 concurrent importers with a service token, each beside the no-database reference
(``/healthz``) under the same concurrency, over real HTTP against the app in its own process.

The grants' access tokens are fresh, so no call may reach a token endpoint (none runs here:
one would fail the request); the figure checks afterwards that no grant was refreshed and that
every read was recorded as an event.
"""

from __future__ import annotations

import secrets
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update

from bench import app_process, load, seed
from relink import migrate
from relink.api_tokens.permissions import IMPORTER
from relink.api_tokens.service_tokens import create_service_token
from relink.db import Database
from relink.kit.crypto import SecretBox, generate_key
from relink.models import DataSource, Event, Grant
from relink.models.base import utcnow
from relink.providers.taxonomy import AuthKind
from relink.status import DataSourceStatus

CALLERS = 200
ROUNDS = 5
DATA_SOURCES = 2_000
TARGET_RATIO = 2.0


async def run(database_url: str) -> dict[str, Any]:
    """The p95 of credentials reads and of the reference, at CALLERS at once."""
    migrate.upgrade(database_url)
    secret_key, session_secret = generate_key(), secrets.token_urlsafe(32)
    database = Database(database_url)
    try:
        agency = await seed.create_agency(database, SecretBox([secret_key]))
        await seed.grow(database, agency, data_sources=DATA_SOURCES)
        token, source_ids = await _importer(database, agency.agency_id)
        generations = await _generations(database)
        with (
            tempfile.TemporaryDirectory() as var_dir,
            app_process.serve_app(
                database_url,
                secret_key=secret_key,
                session_secret=session_secret,
                var_dir=Path(var_dir),
            ) as base,
        ):
            async with load.client() as http:
                paths = [f"/api/v1/data-sources/{i}/credentials" for i in source_ids]
                taken = await load.paired(
                    http,
                    base,
                    paths,
                    cookie={"Authorization": f"Bearer {token}"},
                    workers=CALLERS,
                    rounds=ROUNDS,
                )
        figures = taken.figures()
        async with database.transaction() as session:
            reads = await session.scalar(
                select(func.count()).where(Event.action == "data_source.credentials_read")
            )
        figures.update(
            callers=CALLERS,
            target_ratio=TARGET_RATIO,
            met=figures["ratio_p95"] <= TARGET_RATIO,
            grants_refreshed=sum(
                1 for k, v in (await _generations(database)).items() if generations[k] != v
            ),
            reads_recorded=int(reads or 0),
        )
        return figures
    finally:
        await database.dispose()


async def _importer(database: Database, agency_id: int) -> tuple[str, list[int]]:
    """A service token, the grants' tokens fresh for a day, and CALLERS OAuth data sources."""
    now = utcnow()
    async with database.transaction() as session:
        created = await create_service_token(
            session,
            agency_id=agency_id,
            name="bench importer",
            permissions=IMPORTER,
            expires_at=None,
            actor="system:bench",
            now=now,
        )
        await session.execute(
            update(Grant).values(access_expires_at=now + timedelta(days=1), last_refreshed_at=now)
        )
        ids = list(
            await session.scalars(
                select(DataSource.id)
                .where(
                    DataSource.auth_kind == AuthKind.OAUTH2,
                    DataSource.status == DataSourceStatus.CONNECTED,
                    DataSource.paused_at.is_(None),
                )
                .order_by(DataSource.id)
                .limit(CALLERS)
            )
        )
    return created.value.text, ids


async def _generations(database: Database) -> dict[int, int]:
    async with database.transaction() as session:
        return dict((await session.execute(select(Grant.id, Grant.token_generation))).all())
