"""Logs as an operator reads them: every line JSON, with a request id, and no secret in any."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

from relink import migrate
from relink.app import create_app
from relink.config import Settings
from relink.db import Database
from relink.logging import TOKEN_PATH_PREFIXES, redact_text
from tests.ops.conftest import served_like_relink_serve

SECRET_CODE = "c0de-must-not-be-logged"
SECRET_STATE = "st4te-must-not-be-logged"
LINK_TOKEN = "l1nk-token-must-not-be-logged"
SECRETS = (SECRET_CODE, SECRET_STATE, LINK_TOKEN)
# Generous: on a loaded machine a first request may wait for the pool; this only stops a hang.
CLIENT_TIMEOUT_SECONDS = 30.0


def _lines(captured: str) -> list[dict[str, Any]]:
    """Every non-empty line parsed as JSON (a line that is not JSON fails the test here)."""
    return [json.loads(line) for line in captured.splitlines() if line.strip()]


async def _boom(_request: Request) -> Response:
    raise RuntimeError("the handler broke")


def _app_with_a_broken_route(database_url: str) -> FastAPI:
    app = create_app(database=Database(database_url), settings=Settings(embedded_worker=False))
    app.add_route("/broken-for-the-test", _boom)
    return app


@pytest.fixture
def served_log(
    json_logs: None, database_url: str, capfd: pytest.CaptureFixture[str]
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The lines the served app logged for a callback, a reconnect link, a probe and a crash."""
    app = _app_with_a_broken_route(database_url)
    ids: dict[str, str] = {}
    with (
        served_like_relink_serve(app) as running,
        httpx.Client(base_url=running.url, timeout=CLIENT_TIMEOUT_SECONDS) as http,
    ):
        http.get(f"/oauth/callback?code={SECRET_CODE}&state={SECRET_STATE}")
        http.get(f"/r/{LINK_TOKEN}")
        ids["given"] = http.get("/healthz", headers={"X-Request-ID": "probe-0001"}).headers[
            "x-request-id"
        ]
        ids["crash"] = http.get("/broken-for-the-test").headers["x-request-id"]
    return _lines(capfd.readouterr().err), ids


def test_every_line_of_a_served_app_is_json(
    served_log: tuple[list[dict[str, Any]], dict[str, str]],
) -> None:
    lines, _ = served_log

    access = [line for line in lines if line.get("event") == "http.access"]
    assert {line["path"].split("?")[0] for line in access} >= {"/oauth/callback", "/healthz"}
    assert all({"timestamp", "level"} <= line.keys() for line in lines)


def test_no_code_state_or_link_token_reaches_any_line(
    served_log: tuple[list[dict[str, Any]], dict[str, str]],
) -> None:
    lines, _ = served_log
    text = json.dumps(lines)

    assert not [secret for secret in SECRETS if secret in text]
    paths = {line["path"] for line in lines if line.get("event") == "http.access"}
    assert "/oauth/callback?code=[redacted]&state=[redacted]" in paths
    assert "/r/[redacted]" in paths


def test_each_request_logs_its_id_and_answers_with_it(
    served_log: tuple[list[dict[str, Any]], dict[str, str]],
) -> None:
    lines, ids = served_log

    probe = [line for line in lines if line.get("path") == "/healthz"]
    assert ids["given"] == "probe-0001"
    assert [line["request_id"] for line in probe] == ["probe-0001"]
    assert re.fullmatch(r"[0-9a-f]{32}", ids["crash"])


def test_a_crash_is_one_json_line_with_a_structured_traceback_and_the_request_id(
    served_log: tuple[list[dict[str, Any]], dict[str, str]],
) -> None:
    lines, ids = served_log

    crashes = [line for line in lines if "exception" in line]
    assert len(crashes) == 1
    (crash,) = crashes
    assert crash["request_id"] == ids["crash"]
    assert crash["level"] == "error"
    assert crash["exception"][0]["exc_type"] == "RuntimeError"
    assert crash["exception"][0]["exc_value"] == "the handler broke"
    assert crash["exception"][0]["frames"]


def test_an_insane_incoming_request_id_is_replaced(
    json_logs: None, database_url: str, capfd: pytest.CaptureFixture[str]
) -> None:
    app = _app_with_a_broken_route(database_url)
    forged = 'x" injected=1'
    with (
        served_like_relink_serve(app) as running,
        httpx.Client(base_url=running.url, timeout=CLIENT_TIMEOUT_SECONDS) as http,
    ):
        answer = http.get("/healthz", headers={"X-Request-ID": forged})

    assert re.fullmatch(r"[0-9a-f]{32}", answer.headers["x-request-id"])
    assert forged not in capfd.readouterr().err


def test_migrations_log_json(
    json_logs: None, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    migrate.upgrade(f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}")

    lines = _lines(capfd.readouterr().err)
    assert any(line.get("logger", "").startswith("alembic") for line in lines)


@pytest.mark.parametrize(
    ("logged", "written"),
    [
        (
            "GET /oauth/callback?code=abc&state=def HTTP/1.1",
            "GET /oauth/callback?code=[redacted]&state=[redacted] HTTP/1.1",
        ),
        (
            "https://p.test/token?grant_type=x&refresh_token=r1",
            "https://p.test/token?grant_type=x&refresh_token=[redacted]",
        ),
        ("/r/AbC-123_x?from=mail", "/r/[redacted]?from=mail"),
        ("/data-sources/12?page=2", "/data-sources/12?page=2"),
    ],
)
def test_secret_parts_of_urls_are_redacted_and_the_rest_kept(logged: str, written: str) -> None:
    assert redact_text(logged) == written


def _paths(routes: list[Any]) -> list[str]:
    """Every route's path template, through FastAPI's included routers."""
    paths: list[str] = []
    for route in routes:
        if hasattr(route, "original_router"):
            paths.extend(_paths(route.original_router.routes))
        elif isinstance(getattr(route, "path", None), str):
            paths.append(route.path)
    return paths


def test_every_route_with_a_token_in_its_path_is_redacted(tmp_path: Path) -> None:
    app = create_app(settings=Settings(embedded_worker=False, var_dir=tmp_path))
    # Row ids (``{state_id}``) are not secrets; the secret values themselves are.
    secret_params = re.compile(r"\{(token|code|state|secret|key)\}")
    token_routes = [path for path in _paths(app.routes) if secret_params.search(path)]

    assert token_routes  # /r/{token}
    for path in token_routes:
        prefix = path[: path.index("{")]
        assert prefix in TOKEN_PATH_PREFIXES, path
