"""A token's value is in no log line, whether it was let in or refused."""

from __future__ import annotations

import httpx
import pytest

from relink.api_tokens.values import parse_value
from relink.app import create_app
from relink.config import Settings
from relink.db import Database
from relink.models import TokenScope
from tests.api_tokens.conftest import made_token
from tests.fixtures.demo import Demo
from tests.ops.conftest import json_logs, served_like_relink_serve  # noqa: F401


async def test_no_log_line_carries_a_token_value(
    json_logs: None,  # noqa: F811
    demo: Demo,
    database: Database,
    database_url: str,
    capfd: pytest.CaptureFixture[str],
) -> None:
    _, writer = await made_token(database, demo.staff.id, name="writer")
    _, reader = await made_token(database, demo.staff.id, name="reader", scope=TokenScope.READ)
    app = create_app(database=Database(database_url), settings=Settings(embedded_worker=False))

    with served_like_relink_serve(app) as running, httpx.Client(base_url=running.url) as http:
        statuses = [
            http.get("/api/me", headers={"Authorization": f"Bearer {writer}"}).status_code,
            http.post(
                "/api/v1/notifications/read-all", headers={"Authorization": f"Bearer {reader}"}
            ).status_code,
            http.get("/api/me", headers={"Authorization": f"Bearer {writer}x"}).status_code,
            http.get("/api/me", headers={"Authorization": f"Token {writer}"}).status_code,
        ]

    logged = capfd.readouterr()
    assert statuses == [200, 403, 401, 401]
    assert "http.access" in logged.err + logged.out
    for value in (writer, reader):
        parsed = parse_value(value)
        assert parsed is not None
        assert parsed.secret not in logged.err + logged.out
