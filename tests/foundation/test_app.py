"""The app answers with what the database holds."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from relink.app import create_app
from relink.db import Database
from tests.fixtures.demo import Demo


async def test_health_answers_with_the_demo_data(
    session: AsyncSession, database: Database, demo: Demo
) -> None:
    app = create_app(database=database)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            answer = await client.get("/healthz")

    assert answer.status_code == 200
    assert answer.json()["data_sources"] == 15
