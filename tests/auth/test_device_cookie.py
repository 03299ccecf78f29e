"""Device cookies: a browser that signed in before gets past a locked address, nobody else does.

Behind an office NAT every person shares one address, and a hundred failed sign-ins from it
(any visitor spraying passwords) lock that address for fifteen minutes. The owner, in a
browser that signed in before, still gets in with the right password; the per-account limits
still hold. Every test runs on both throttle stores (database and Redis) and both databases.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
import redis.asyncio as redis
from fastapi import FastAPI

from relink.app import create_app
from relink.auth import throttle as throttle_module
from relink.auth.device_cookie import COOKIE_NAME, LIFETIME, DeviceCookies
from relink.auth.throttle import ADDRESS_LIMIT, LoginThrottle
from relink.auth.throttle_store import RedisStore
from relink.config import Settings
from relink.db import Database
from relink.demo import DEMO_PASSWORD
from relink.models.base import utcnow
from tests.auth.conftest import browser, serving, signed_in
from tests.fixtures.demo import Demo
from tests.fixtures.shared_redis import require_redis

OWNER = "staff@demo.relink.test"
COLLEAGUE = "admin@demo.relink.test"
RIGHT = {"email": OWNER, "password": DEMO_PASSWORD}
WRONG = {"email": OWNER, "password": "wrong-password-x"}
# The office's one public address, shared by the owner and every visitor (TEST-NET-3).
OFFICE = "203.0.113.40"

# The same rules with smaller numbers where the number is not the point: every checked guess is
# a slow argon2 hash on purpose, and the suite should not spend minutes on them.
SMALL_LIMIT = 3


@pytest.fixture(params=["database", "redis"])
async def app(
    request: pytest.FixtureRequest, demo: Demo, database_url: str
) -> AsyncIterator[FastAPI]:
    """The demo agency served in this process, its sign-in counts in the database or Redis."""
    if request.param == "database":
        async with serving(database_url) as running:
            yield running
        return
    redis_url = await require_redis()
    prefix = f"relink-test:{uuid.uuid4().hex}:"
    async with serving(database_url, redis_url=redis_url) as running:
        store = running.state.login_throttle.store
        assert isinstance(store, RedisStore)
        store.prefix = prefix  # this test's own keys, deleted afterwards
        yield running
    client = redis.from_url(redis_url)
    keys = [k async for k in client.scan_iter(match=f"{prefix}*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


@pytest.fixture
def small_limits(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(throttle_module, "PAIR_LIMIT", SMALL_LIMIT)
    monkeypatch.setattr(throttle_module, "EMAIL_FREE_FAILURES", SMALL_LIMIT)
    return SMALL_LIMIT


async def _known_browser(app: FastAPI, email: str = OWNER) -> httpx.AsyncClient:
    """A browser at the office that signed in as ``email`` and signed out again: all it keeps
    is its device cookie."""
    client = await signed_in(app, email, DEMO_PASSWORD, address=OFFICE)
    assert client.cookies.get(COOKIE_NAME), "a successful sign-in sets the device cookie"
    assert (await client.delete("/api/session")).status_code == 204
    assert (await client.get("/api/me")).status_code == 401
    del client.headers["X-CSRF-Token"]  # the ended session's token, refused with it
    return client


async def _hundred_failed_sign_ins(app: FastAPI, address: str = OFFICE) -> None:
    """A visitor at ``address`` fails ``ADDRESS_LIMIT`` sign-ins, each to another e-mail.

    Taken straight from the throttle: a failed sign-in leaves exactly its reservation in the
    counts (the wrong password changes nothing more), and a hundred argon2 checks would take
    the suite minutes.
    """
    throttle: LoginThrottle = app.state.login_throttle
    for n in range(ADDRESS_LIMIT):
        await throttle.reserve(email=f"visitor{n}@guess.test", address=address)


def _with_device_cookie(app: FastAPI, value: str) -> httpx.AsyncClient:
    """A new browser at the office presenting ``value`` as its device cookie."""
    client = browser(app, OFFICE)
    client.cookies.set(COOKIE_NAME, value)
    return client


async def test_the_owner_in_a_browser_that_signed_in_before_gets_past_a_locked_address(
    app: FastAPI,
) -> None:
    # given
    owner = await _known_browser(app)
    await _hundred_failed_sign_ins(app)

    # when
    answer = await owner.post("/api/session", json=RIGHT)

    # then
    assert answer.status_code == 200
    assert (await owner.get("/api/me")).json()["email"] == OWNER


async def test_the_owner_in_a_browser_without_the_cookie_is_refused_by_the_address_limit(
    app: FastAPI,
) -> None:
    # given: the owner's own browser is known; this one, at the same office, is not
    await _known_browser(app)
    await _hundred_failed_sign_ins(app)

    # when
    async with browser(app, OFFICE) as other_browser:
        answer = await other_browser.post("/api/session", json=RIGHT)

    # then
    assert answer.status_code == 429
    assert COOKIE_NAME not in answer.cookies


async def test_a_tampered_device_cookie_gets_no_one_past_a_locked_address(app: FastAPI) -> None:
    # given: the owner's genuine cookie, its payload altered under its signature
    genuine = (await _known_browser(app)).cookies[COOKIE_NAME]
    payload, signature = genuine.rsplit(".", 1)
    tampered = f"{payload[:-1]}{'A' if payload[-1] != 'A' else 'B'}.{signature}"
    await _hundred_failed_sign_ins(app)

    async with _with_device_cookie(app, tampered) as forger:
        assert (await forger.post("/api/session", json=RIGHT)).status_code == 429


async def test_a_made_up_device_cookie_gets_no_one_past_a_locked_address(app: FastAPI) -> None:
    await _hundred_failed_sign_ins(app)

    async with _with_device_cookie(app, "eyJ1IjoxLCJuIjoieCJ9.forged") as forger:
        assert (await forger.post("/api/session", json=RIGHT)).status_code == 429


async def test_another_users_device_cookie_gets_no_one_past_a_locked_address(
    app: FastAPI,
) -> None:
    # given: a colleague's browser that signed in as the colleague
    colleagues = (await _known_browser(app, COLLEAGUE)).cookies[COOKIE_NAME]
    await _hundred_failed_sign_ins(app)

    # when: it is presented for the owner's account
    async with _with_device_cookie(app, colleagues) as borrowed:
        answer = await borrowed.post("/api/session", json=RIGHT)

    # then
    assert answer.status_code == 429


async def test_wrong_passwords_with_a_device_cookie_still_meet_the_per_account_limit(
    app: FastAPI, small_limits: int
) -> None:
    owner = await _known_browser(app)
    await _hundred_failed_sign_ins(app)

    codes = [
        (await owner.post("/api/session", json=WRONG)).status_code for _ in range(small_limits)
    ]
    # Past the limit even the right password waits: the wrong ones counted against the account.
    codes.append((await owner.post("/api/session", json=RIGHT)).status_code)

    assert codes == [401] * small_limits + [429]


async def test_a_device_cookie_that_failed_too_often_no_longer_passes_a_locked_address(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A smaller limit than the real one (and than the account's): the same rule, fewer hashes.
    monkeypatch.setattr(throttle_module, "DEVICE_LIMIT", 2)
    owner = await _known_browser(app)
    await _hundred_failed_sign_ins(app)
    stolen = owner.cookies[COOKIE_NAME]

    async with _with_device_cookie(app, stolen) as thief:
        codes = [(await thief.post("/api/session", json=WRONG)).status_code for _ in range(2)]
        codes.append((await thief.post("/api/session", json=RIGHT)).status_code)

    assert codes == [401, 401, 429]


async def test_the_sign_in_page_leaves_a_device_cookie_that_gets_past_a_locked_address(
    app: FastAPI,
) -> None:
    async with browser(app, OFFICE) as owner:

        async def sign_in_on_the_page() -> httpx.Response:
            csrf = (await owner.get("/api/session/csrf")).json()["csrf_token"]
            form = {**RIGHT, "csrf_token": csrf, "next": "/data-sources"}
            return await owner.post("/login", data=form)

        assert (await sign_in_on_the_page()).status_code == 303
        owner.cookies.delete("relink_session")  # the session is gone; the device cookie stays
        await _hundred_failed_sign_ins(app)

        answer = await sign_in_on_the_page()

    assert answer.status_code == 303
    assert answer.headers["location"] == "/data-sources"


async def test_a_signed_in_user_changes_their_password_behind_a_locked_address(
    app: FastAPI,
) -> None:
    owner = await signed_in(app, OWNER, DEMO_PASSWORD, address=OFFICE)
    await _hundred_failed_sign_ins(app)

    answer = await owner.post(
        "/api/me/password",
        json={"current_password": DEMO_PASSWORD, "new_password": "a-new-long-passphrase"},
    )

    assert answer.status_code == 200


async def test_the_device_cookie_is_long_lived_httponly_and_same_site_lax(app: FastAPI) -> None:
    async with browser(app, OFFICE) as client:
        answer = await client.post("/api/session", json=RIGHT)

    device = next(h for h in answer.headers.get_list("set-cookie") if h.startswith(COOKIE_NAME))
    attributes = {part.strip().lower() for part in device.split(";")}
    assert f"max-age={int(LIFETIME.total_seconds())}" in attributes
    assert {"httponly", "samesite=lax", "path=/"} <= attributes
    assert "secure" not in attributes  # BASE_URL is http here


async def test_the_device_cookie_is_secure_when_the_app_is_served_over_https(
    demo: Demo, database_url: str
) -> None:
    database = Database(database_url)
    settings = Settings(embedded_worker=False, base_url="https://relink.example")
    app = create_app(database=database, settings=settings)
    try:
        async with app.router.lifespan_context(app), browser(app, OFFICE) as client:
            answer = await client.post("/api/session", json=RIGHT)
    finally:
        await database.dispose()

    device = next(h for h in answer.headers.get_list("set-cookie") if h.startswith(COOKIE_NAME))
    assert "secure" in {part.strip().lower() for part in device.split(";")}


def test_a_device_cookie_ends_with_its_lifetime() -> None:
    devices = DeviceCookies("k")
    issued = utcnow()
    value = devices.issue(user_id=7, email=OWNER, now=issued)

    assert devices.read(value, email=OWNER, now=issued + LIFETIME - timedelta(minutes=1))
    assert devices.read(value, email=OWNER, now=issued + LIFETIME + timedelta(minutes=1)) is None


def test_a_device_cookie_is_read_for_its_own_account_whatever_the_e_mails_case() -> None:
    devices = DeviceCookies("k")
    now = utcnow()
    value = devices.issue(user_id=7, email=OWNER, now=now)

    known = devices.read(value, email=f"  {OWNER.upper()} ", now=now)
    assert known is not None and known.user_id == 7
    assert devices.read(value, email=COLLEAGUE, now=now) is None


def test_a_device_cookie_signed_with_another_secret_is_no_device_cookie() -> None:
    now = utcnow()
    value = DeviceCookies("another app's secret").issue(user_id=7, email=OWNER, now=now)

    assert DeviceCookies("k").read(value, email=OWNER, now=now) is None
