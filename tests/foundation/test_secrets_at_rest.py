"""No credential of the demo is stored anywhere in the database in plaintext."""

from __future__ import annotations

from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from relink.db import Database
from relink.demo import DEMO_PASSWORD
from relink.models import Base
from relink.sandbox import seed
from tests.fixtures.demo import Demo

DEMO_SECRETS = [
    *(i.demo_refresh_token for i in seed.IDENTITIES if i.demo_refresh_token),
    *(a.demo_api_key for a in seed.API_KEY_ACCOUNTS),
    DEMO_PASSWORD,
]


async def test_no_demo_secret_is_in_the_raw_database(
    session: AsyncSession, database: Database, demo: Demo
) -> None:
    await session.close()
    await database.dispose()  # flush the WAL so every byte is in files we can read

    raw = _raw_bytes(database)

    assert len(raw) > 10_000, "the scan must see the seeded rows"
    assert demo.shared_grant.external_identity is not None
    assert demo.shared_grant.external_identity.encode() in raw, "the scan must see plain columns"
    found = [s for s in DEMO_SECRETS if s.encode() in raw]
    assert found == []


def _raw_bytes(database: Database) -> bytes:
    url = make_url(database.url)
    if url.get_backend_name() == "sqlite":
        assert url.database is not None
        files = Path(url.database).parent.glob(Path(url.database).name + "*")
        return b"".join(f.read_bytes() for f in files)
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    chunks: list[bytes] = []
    with psycopg.connect(dsn) as conn:
        for table in Base.metadata.sorted_tables:
            query = f'SELECT t::text FROM "{table.name}" t'
            chunks.extend(str(row[0]).encode() for row in conn.execute(query))  # type: ignore[call-overload]
    return b"\n".join(chunks)
