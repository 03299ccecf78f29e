"""A script with ``Authorization: Bearer`` over real HTTP: it acts as its user, or is refused
saying why, and never gets a cookie."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relink.api_tokens import service as api_tokens
from relink.db import Database
from relink.demo import DEMO_PASSWORD
from relink.models import ApiToken, TokenScope, User
from relink.models.base import utcnow
from relink.users.service import deactivate_user
from tests.api_tokens.conftest import LIMITED, STAFF, made_token, script
from tests.fixtures.app_server import signed_in
from tests.fixtures.demo import Demo


def _data_source_ids(client: httpx.Client) -> list[int]:
    answer = client.get("/api/v1/data-sources", params={"limit": 200})
    assert answer.status_code == 200, answer.text
    return sorted(row["id"] for row in answer.json()["items"])


def test_a_token_acts_as_its_user(staff_script: httpx.Client) -> None:
    answer = staff_script.get("/api/me")

    assert answer.status_code == 200
    assert answer.json()["email"] == STAFF


async def test_a_token_sees_exactly_the_clients_its_user_may_see(
    app_url: str, demo: Demo, database: Database
) -> None:
    _, value = await made_token(database, demo.limited.id, scope=TokenScope.READ)
    browser = signed_in(app_url, LIMITED, DEMO_PASSWORD)

    with script(app_url, value) as limited_script:
        by_token = _data_source_ids(limited_script)

    assert by_token == _data_source_ids(browser)
    everything = _data_source_ids(signed_in(app_url, "admin@demo.relink.test", DEMO_PASSWORD))
    assert 0 < len(by_token) < len(everything)


def test_a_read_write_token_changes_things_without_a_csrf_token(
    staff_script: httpx.Client,
) -> None:
    answer = staff_script.post("/api/v1/notifications/read-all")

    assert answer.status_code == 200, answer.text
    assert answer.json() == {"unread": 0}


def test_a_read_only_token_reads(app_url: str, read_only_token: str) -> None:
    with script(app_url, read_only_token) as client:
        answer = client.get("/api/me")

    assert answer.status_code == 200


def test_a_read_only_token_is_refused_a_change_saying_it_is_read_only(
    app_url: str, read_only_token: str
) -> None:
    with script(app_url, read_only_token) as client:
        answer = client.post("/api/v1/notifications/read-all")

    assert answer.status_code == 403
    assert "read-only" in answer.text


def test_an_unknown_token_is_refused(app_url: str, staff_token: str) -> None:
    # the same lookup with another secret: a guess at a real token's secret
    forged = staff_token[:-4] + ("AAAA" if not staff_token.endswith("AAAA") else "BBBB")

    with script(app_url, forged) as client:
        answer = client.get("/api/me")

    assert answer.status_code == 401
    assert "not known" in answer.text
    assert answer.headers["www-authenticate"].startswith("Bearer")


async def test_a_revoked_token_is_refused_on_its_next_request(
    staff_script: httpx.Client, database: Database
) -> None:
    # given: the token was just let in (so the token cache holds it)
    assert staff_script.get("/api/me").status_code == 200
    assert staff_script.get("/api/v1/data-sources").status_code == 200
    async with database.transaction() as session:
        token = await session.scalar(select(ApiToken))
        assert token is not None
        await api_tokens.revoke_token(session, token=token, actor="test", now=utcnow())

    answer = staff_script.get("/api/me")

    assert answer.status_code == 401
    assert "revoked" in answer.text


async def test_an_expired_token_is_refused(staff_script: httpx.Client, database: Database) -> None:
    async with database.transaction() as session:
        await session.execute(update(ApiToken).values(expires_at=utcnow() - timedelta(seconds=1)))

    answer = staff_script.get("/api/me")

    assert answer.status_code == 401
    assert "expired" in answer.text


async def test_a_deactivated_users_token_stops_at_once(
    staff_script: httpx.Client, database: Database, demo: Demo
) -> None:
    # given: the token was just let in (so anything that remembers it has it)
    assert staff_script.get("/api/me").status_code == 200
    assert staff_script.get("/api/v1/data-sources").status_code == 200

    async with database.transaction() as session:
        user = await session.get_one(User, demo.staff.id)
        await deactivate_user(session, user=user, now=utcnow())

    assert staff_script.get("/api/me").status_code == 401
    listing = staff_script.get("/api/v1/data-sources")
    assert listing.status_code == 401
    assert "deactivated" in listing.text


def test_a_malformed_authorization_header_is_refused_with_the_expected_form(
    app_url: str,
) -> None:
    for header in ("Bearer", "Bearer not-a-token", "Basic dXNlcjpwYXNz", "rlk_abc"):
        with httpx.Client(base_url=app_url, headers={"Authorization": header}) as client:
            answer = client.get("/api/me")

        assert answer.status_code == 401, header
        assert "Authorization: Bearer rlk_" in answer.text, header


def test_a_malformed_header_is_refused_even_beside_a_live_session_cookie(app_url: str) -> None:
    browser = signed_in(app_url, STAFF, DEMO_PASSWORD)

    answer = browser.get("/api/me", headers={"Authorization": "Token abc"})

    assert answer.status_code == 401


def test_a_bearer_request_never_gets_a_session_cookie(staff_script: httpx.Client) -> None:
    answers = [
        staff_script.get("/api/me"),
        # what would start a session for a browser: its CSRF token
        staff_script.get("/api/session/csrf"),
        staff_script.post("/api/v1/notifications/read-all"),
        staff_script.get("/api/v1/data-sources"),
        staff_script.get("/data-sources"),
    ]

    assert [a.status_code for a in answers] == [200] * len(answers)
    assert [a.headers.get_list("set-cookie") for a in answers] == [[]] * len(answers)
    assert not staff_script.cookies


def test_a_token_beside_another_users_cookie_acts_as_the_token_and_leaves_the_cookie(
    app_url: str, staff_token: str
) -> None:
    browser = signed_in(app_url, LIMITED, DEMO_PASSWORD)

    answer = browser.get("/api/me", headers={"Authorization": f"Bearer {staff_token}"})

    assert answer.json()["email"] == STAFF
    assert answer.headers.get_list("set-cookie") == []
    assert browser.get("/api/me").json()["email"] == LIMITED


def test_the_pages_open_with_a_token_as_its_user(staff_script: httpx.Client) -> None:
    answer = staff_script.get("/settings/notifications")

    assert answer.status_code == 200
    assert "My notifications" in answer.text


async def test_last_use_is_recorded_with_its_time_and_address(
    staff_script: httpx.Client, session: AsyncSession
) -> None:
    before = utcnow()

    assert staff_script.get("/api/me").status_code == 200

    token = await session.scalar(select(ApiToken))
    assert token is not None
    assert token.last_used_at is not None and token.last_used_at >= before
    assert token.last_used_address == "127.0.0.1"


async def test_a_listing_records_last_use_too(
    staff_script: httpx.Client, session: AsyncSession
) -> None:
    assert staff_script.get("/api/v1/data-sources").status_code == 200

    token = await session.scalar(select(ApiToken))
    assert token is not None and token.last_used_at is not None


async def test_last_use_is_written_at_most_once_a_minute(
    staff_script: httpx.Client, database: Database
) -> None:
    assert staff_script.get("/api/me").status_code == 200
    first = await _last_used(database)

    for path in ("/api/me", "/api/v1/data-sources", "/api/me"):
        assert staff_script.get(path).status_code == 200

    assert await _last_used(database) == first


async def _last_used(database: Database) -> datetime:
    async with database.reading() as session:
        used: datetime | None = await session.scalar(select(ApiToken.last_used_at))
    assert used is not None
    return used


def test_the_openapi_document_declares_the_bearer_scheme_beside_the_cookie(
    app_url: str,
) -> None:
    document = httpx.get(f"{app_url}/openapi.json").json()

    schemes = document["components"]["securitySchemes"]
    bearer = next(s for s in schemes.values() if s["type"] == "http")
    assert bearer["scheme"] == "bearer"
    assert any(s["type"] == "apiKey" and s["in"] == "cookie" for s in schemes.values())
    listing = document["paths"]["/api/v1/data-sources"]["get"]
    assert {name for requirement in listing["security"] for name in requirement} == set(schemes)


async def test_the_versioned_api_answers_each_refusal_as_a_problem_with_its_code(
    app_url: str, demo: Demo, database: Database
) -> None:
    _, reader = await made_token(database, demo.staff.id, name="r", scope=TokenScope.READ)
    _, revoked = await made_token(database, demo.staff.id, name="gone")
    async with database.transaction() as session:
        await session.execute(
            update(ApiToken).where(ApiToken.name == "gone").values(revoked_at=utcnow())
        )
    asked = {
        "malformed_authorization": ("GET", "Token abc"),
        "unknown_token": ("GET", "Bearer rlk_0123456789abcdef_" + "a" * 43),
        "token_revoked": ("GET", f"Bearer {revoked}"),
        "token_read_only": ("POST", f"Bearer {reader}"),
    }

    with httpx.Client(base_url=app_url) as client:
        answers = {
            code: client.request(
                method,
                "/api/v1/notifications/read-all" if method == "POST" else "/api/v1/notifications",
                headers={"Authorization": header},
            )
            for code, (method, header) in asked.items()
        }

    for code, answer in answers.items():
        assert answer.headers["content-type"].startswith("application/problem+json"), code
        assert answer.json()["code"] == code
    assert [answers[c].status_code for c in asked] == [401, 401, 401, 403]
    assert answers["unknown_token"].headers["www-authenticate"].startswith("Bearer")


async def test_a_token_has_its_users_role(app_url: str, demo: Demo, database: Database) -> None:
    _, admins = await made_token(database, demo.admin.id, name="a", scope=TokenScope.READ)
    _, staffs = await made_token(database, demo.staff.id, name="s", scope=TokenScope.READ)
    _, clients = await made_token(database, demo.client_user.id, name="c", scope=TokenScope.READ)

    answers = {}
    for who, value in (("admin", admins), ("staff", staffs), ("client", clients)):
        with script(app_url, value) as client:
            answers[who] = (
                client.get("/api/v1/users").status_code,
                client.get("/api/v1/incidents").status_code,
            )

    # users are the admins' business; incidents the agency's (a client login is never told)
    assert answers == {"admin": (200, 200), "staff": (403, 200), "client": (403, 404)}
