"""Every error of /api/v1 over real HTTP is an RFC 9457 problem (application/problem+json)
with the stable code of its class and a detail saying what to do; the pages' /api keeps its
{"detail": ...} answers."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from relink.app import create_app
from relink.config import Settings, get_settings
from relink.db import Database
from relink.demo import DEMO_PASSWORD
from relink.kit.row_ids import MAX_ROW_ID
from tests.api_v1.problem_checks import problem_of
from tests.fixtures.app_server import signed_in
from tests.fixtures.server import bound_socket, serve_in_thread

# Generous: a loaded machine answers the first request of a fresh app slowly.
TIMEOUT = 30
LIST = "/api/v1/data-sources"


def _staff(url: str) -> httpx.Client:
    return signed_in(url, "staff@demo.relink.test", DEMO_PASSWORD)


def _first_id(admin: httpx.Client) -> int:
    return int(admin.get(LIST, params={"limit": 1}).json()["items"][0]["id"])


def test_an_absent_data_source_is_a_not_found_problem(admin: httpx.Client) -> None:
    body = problem_of(admin.get(f"{LIST}/999999"), status=404, code="not_found")

    assert body["title"] == "Not Found"
    assert body["detail"] == "Data source not found."


def test_a_path_with_no_operation_is_a_problem(admin: httpx.Client) -> None:
    body = problem_of(admin.get("/api/v1/no-such-thing"), status=404, code="no_such_route")

    assert "/openapi.json" in body["detail"]


def test_a_method_the_path_does_not_answer_is_a_problem(admin: httpx.Client) -> None:
    answer = admin.delete(LIST)

    body = problem_of(answer, status=405, code="method_not_allowed")
    assert answer.headers["allow"] == "GET"
    assert "DELETE" in body["detail"] and "GET" in body["detail"]


def test_invalid_parameters_are_named_each_with_what_to_send(admin: httpx.Client) -> None:
    answer = admin.get(LIST, params={"limit": 0, "status": "sideways"})

    body = problem_of(answer, status=422, code="invalid_request")
    messages = {error["field"]: error["message"] for error in body["errors"]}
    assert set(messages) == {"limit", "status"}
    assert messages["limit"] == "Input should be greater than or equal to 1."
    assert "'connected'" in messages["status"]
    assert "limit" in body["detail"] and "status" in body["detail"]


def test_an_id_no_row_can_have_is_a_422_not_a_crash(admin: httpx.Client) -> None:
    answer = admin.get(f"{LIST}/{MAX_ROW_ID + 1}")

    body = problem_of(answer, status=422, code="invalid_request")
    assert [error["field"] for error in body["errors"]] == ["data_source_id"]


def test_a_malformed_cursor_says_to_start_again(admin: httpx.Client) -> None:
    answer = admin.get(LIST, params={"cursor": "not-a-cursor"})

    body = problem_of(answer, status=422, code="invalid_input")
    assert "start again from the first page" in body["detail"]


def test_a_body_that_is_not_json_is_named_as_such(admin: httpx.Client) -> None:
    answer = admin.post(
        f"{LIST}/{_first_id(admin)}/disconnect",
        content=b'{"confirm": ',
        headers={"content-type": "application/json"},
    )

    body = problem_of(answer, status=422, code="invalid_request")
    assert body["errors"][0]["field"] == "body"
    assert body["errors"][0]["message"].startswith("The body is not valid JSON")


def test_a_body_that_cannot_be_read_at_all_is_a_400_problem(admin: httpx.Client) -> None:
    answer = admin.post(
        f"{LIST}/{_first_id(admin)}/disconnect",
        content=b'{"confirm": "\x80"}',
        headers={"content-type": "application/json"},
    )

    body = problem_of(answer, status=400, code="unreadable_body")
    assert "UTF-8" in body["detail"]


def test_a_missing_field_is_required_by_name(admin: httpx.Client) -> None:
    answer = admin.post(f"{LIST}/{_first_id(admin)}/disconnect", json={})

    body = problem_of(answer, status=422, code="invalid_request")
    assert body["errors"] == [{"field": "confirm", "message": "Required: send confirm."}]


def test_text_with_nul_is_a_problem(admin: httpx.Client) -> None:
    answer = admin.get(LIST, params={"q": "acme\x00"})

    body = problem_of(answer, status=422, code="nul_character")
    assert "NUL" in body["detail"]


def test_nobody_signed_in_is_a_401_problem(app_url: str) -> None:
    answer = httpx.get(app_url + LIST, timeout=TIMEOUT)

    problem_of(answer, status=401, code="not_signed_in")


def test_an_admins_operation_is_a_403_problem_for_staff(app_url: str) -> None:
    problem_of(_staff(app_url).post("/api/v1/health/sweep"), status=403, code="admin_only")


def test_a_write_without_its_csrf_token_is_a_403_problem(app_url: str) -> None:
    staff = _staff(app_url)
    del staff.headers["X-CSRF-Token"]

    problem_of(staff.post("/api/v1/notifications/read-all"), status=403, code="csrf_refused")


def test_a_move_the_status_does_not_allow_is_a_409_problem(admin: httpx.Client) -> None:
    data_source = _first_id(admin)
    assert admin.post(f"{LIST}/{data_source}/pause").status_code == 200

    body = problem_of(
        admin.post(f"{LIST}/{data_source}/pause"), status=409, code="illegal_transition"
    )
    assert "paused" in body["detail"]


def test_the_pages_api_keeps_detail_errors(admin: httpx.Client, app_url: str) -> None:
    absent = admin.get("/api/data-sources/999999")
    invalid = admin.get("/api/data-sources", params={"limit": 0})
    anonymous = httpx.get(app_url + "/api/data-sources", timeout=TIMEOUT)

    assert absent.json() == {"detail": "data source not found"}
    assert invalid.headers["content-type"] == "application/json"
    assert invalid.json()["detail"][0]["loc"] == ["query", "limit"]
    assert anonymous.json() == {"detail": "sign in first"}


@pytest.fixture
def crashing_url(
    database_url: str, secret_key: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """The app with one more operation, which fails as a bug would: its error's text holds
    what must never reach an answer."""
    monkeypatch.setenv("RELINK_SECRET_KEYS", secret_key)
    monkeypatch.setenv("RELINK_EMBEDDED_WORKER", "false")
    get_settings.cache_clear()
    app = create_app(database=Database(database_url), settings=Settings())

    async def crash() -> None:
        raise RuntimeError("password=hunter2 at db.internal:5432")

    app.add_api_route("/api/v1/crash", crash)
    with serve_in_thread(app, sock=bound_socket()) as running:
        yield running.url


def test_an_unexpected_error_is_a_500_problem_naming_nothing_inside(crashing_url: str) -> None:
    answer = httpx.get(crashing_url + "/api/v1/crash", timeout=TIMEOUT)

    body = problem_of(answer, status=500, code="internal_error")
    assert "hunter2" not in answer.text and "db.internal" not in answer.text
    assert "Traceback" not in answer.text and "RuntimeError" not in answer.text
    assert answer.headers["x-request-id"]
    assert "X-Request-ID" in body["detail"]
