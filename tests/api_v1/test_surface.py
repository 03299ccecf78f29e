"""The versioned surface: /api/v1 is the one documented API, each operation named and
declaring every status it can answer; the pages' unversioned /api answers as it always did."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from relink.app import create_app
from relink.kit.problems import PROBLEM_MEDIA_TYPE

HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
UNSAFE_METHODS = {"post", "put", "patch", "delete"}
# Operations anyone may call, signed in or not (none yet): the rest can answer 401.
PUBLIC_OPERATIONS: frozenset[str] = frozenset()
# snake_case or lowerCamelCase, at least two words.
READABLE_ID = re.compile(r"[a-z]+(_[a-z0-9]+)+")


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return create_app().openapi()


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield method, path, operation


def test_only_the_versioned_api_is_documented(document: dict[str, Any]) -> None:
    paths = list(document["paths"])

    assert paths
    assert [p for p in paths if not p.startswith("/api/v1/")] == []


def test_no_operation_is_documented_twice(document: dict[str, Any]) -> None:
    ids = [operation["operationId"] for _, _, operation in _operations(document)]

    assert len(ids) == len(set(ids))


def test_every_operation_has_a_readable_operation_id_and_a_tag(document: dict[str, Any]) -> None:
    for method, path, operation in _operations(document):
        # Words a generated client can name a method after: list_data_sources.
        assert READABLE_ID.fullmatch(operation.get("operationId", "")), (
            method,
            path,
        )
        assert operation.get("tags"), (method, path)


def test_every_error_an_operation_declares_is_a_problem(document: dict[str, Any]) -> None:
    for method, path, operation in _operations(document):
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                content = response.get("content", {})
                assert list(content) == [PROBLEM_MEDIA_TYPE], (method, path, status)
                schema = content[PROBLEM_MEDIA_TYPE]["schema"]
                assert schema == {"$ref": "#/components/schemas/Problem"}, (method, path)
    assert {"Problem", "FieldProblem"} <= set(document["components"]["schemas"])


def test_every_operation_declares_the_statuses_any_request_can_meet(
    document: dict[str, Any],
) -> None:
    for method, path, operation in _operations(document):
        declared = set(operation["responses"])
        needed = {"503"}
        if operation["operationId"] not in PUBLIC_OPERATIONS:
            needed.add("401")
        if operation.get("parameters") or operation.get("requestBody"):
            needed.add("422")
        if "{" in path:
            needed.add("404")
        if method in UNSAFE_METHODS:
            # A write without its CSRF token (or with a read-only token) is refused.
            needed.add("403")
        assert needed <= declared, (method, path, sorted(needed - declared))


def test_retry_after_is_declared_where_an_answer_says_to_wait(document: dict[str, Any]) -> None:
    for method, path, operation in _operations(document):
        for status in ("429", "503"):
            if status in operation["responses"]:
                headers = operation["responses"][status].get("headers", {})
                assert "Retry-After" in headers, (method, path, status)


def test_the_pages_api_and_v1_give_the_same_answer(admin: httpx.Client) -> None:
    old = admin.get("/api/data-sources", params={"limit": 100})
    new = admin.get("/api/v1/data-sources", params={"limit": 100})

    assert old.status_code == new.status_code == 200
    assert old.json() == new.json()
    assert len(new.json()["items"]) == 15


def test_the_pages_api_keeps_its_detail_errors(admin: httpx.Client) -> None:
    answer = admin.get("/api/data-sources/999999")

    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == {"detail": "data source not found"}


def test_a_sweep_asked_on_v1_points_at_the_v1_job(admin: httpx.Client) -> None:
    answer = admin.post("/api/v1/health/sweep")

    assert answer.status_code == 202
    job_id = answer.json()["job_id"]
    assert answer.json()["status_url"] == f"/api/v1/jobs/{job_id}"
    assert answer.headers["Location"] == f"/api/v1/jobs/{job_id}"
    assert admin.get(f"/api/v1/jobs/{job_id}").json()["id"] == job_id
