"""A NUL character in any text a request carries is refused with a 422 that names it."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from relink.demo import DEMO_PASSWORD
from tests.auth.conftest import signed_in

ADMIN = "admin@demo.relink.test"


@pytest.mark.parametrize("path", ["/api/data-sources", "/data-sources"])
@pytest.mark.parametrize("text", ["\x00", "acme\x00dental"])
async def test_a_search_with_a_nul_is_refused_and_says_why(
    app: FastAPI, path: str, text: str
) -> None:
    admin = await signed_in(app, ADMIN, DEMO_PASSWORD)

    answer = await admin.get(path, params={"q": text})

    assert answer.status_code == 422
    assert "NUL" in answer.json()["detail"]


async def test_a_json_body_with_a_nul_is_refused(app: FastAPI) -> None:
    admin = await signed_in(app, ADMIN, DEMO_PASSWORD)

    answer = await admin.post(
        "/api/session", json={"email": "admin\x00@demo.relink.test", "password": "x" * 12}
    )

    assert answer.status_code == 422
    assert "NUL" in answer.json()["detail"]


async def test_a_form_with_a_nul_is_refused(app: FastAPI) -> None:
    admin = await signed_in(app, ADMIN, DEMO_PASSWORD)

    answer = await admin.post("/login", data={"email": "a\x00b", "password": "x" * 12})

    assert answer.status_code == 422


@pytest.mark.parametrize("text", ["%00", "\\", "'", "%", "_", "ß"])
async def test_text_that_only_looks_like_a_nul_is_searched_for(app: FastAPI, text: str) -> None:
    admin = await signed_in(app, ADMIN, DEMO_PASSWORD)

    answer = await admin.get("/api/data-sources", params={"q": text})

    assert answer.status_code == 200
    assert answer.json()["items"] == []
