"""The sign-in throttle as an attacker meets it: parallel, spread out, in several processes."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from relink.auth import throttle as throttle_module
from relink.auth.throttle import (
    EMAIL_BACKOFF_CAP,
    PAIR_LIMIT,
    WINDOW,
    LoginThrottle,
    TooManyAttempts,
)
from relink.auth.throttle_store import DatabaseStore
from relink.db import Database
from relink.demo import DEMO_PASSWORD
from relink.models import LoginAttempt
from tests.auth.conftest import browser, serving, signed_in
from tests.fixtures.clock import Clock
from tests.fixtures.demo import Demo

STAFF = "staff@demo.relink.test"
WRONG = {"email": STAFF, "password": "wrong-password-x"}
RIGHT = {"email": STAFF, "password": DEMO_PASSWORD}


# The same rules with smaller numbers where the number is not the point: every checked guess is
# a slow argon2 hash on purpose, and the suite should not spend minutes on them.
SMALL_LIMIT = 3


@pytest.fixture
def small_limits(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(throttle_module, "PAIR_LIMIT", SMALL_LIMIT)
    monkeypatch.setattr(throttle_module, "EMAIL_FREE_FAILURES", SMALL_LIMIT)
    return SMALL_LIMIT


def _guesser(app: FastAPI, n: int) -> httpx.AsyncClient:
    """The n-th of many addresses an attacker rotates through (TEST-NET-2)."""
    return browser(app, f"198.51.{n // 250}.{n % 250 + 1}")


async def test_thirty_parallel_wrong_guesses_check_no_more_than_the_limit(app: FastAPI) -> None:
    async with browser(app) as client:
        answers = await asyncio.gather(
            *(client.post("/api/session", json=WRONG) for _ in range(30))
        )

    codes = Counter(a.status_code for a in answers)
    # 401: the password was checked and was wrong; 429: refused before any check.
    assert codes == {401: PAIR_LIMIT, 429: 30 - PAIR_LIMIT}


async def test_two_app_processes_share_one_count(
    demo: Demo, database_url: str, small_limits: int
) -> None:
    async with serving(database_url) as first, serving(database_url) as second:
        one, two = browser(first), browser(second)
        for n in range(small_limits):
            answer = await (one, two)[n % 2].post("/api/session", json=WRONG)
            assert answer.status_code == 401

        assert (await one.post("/api/session", json=WRONG)).status_code == 429
        assert (await two.post("/api/session", json=WRONG)).status_code == 429


async def test_parallel_guesses_through_two_processes_check_no_more_than_the_limit(
    demo: Demo, database_url: str
) -> None:
    async with serving(database_url) as first, serving(database_url) as second:
        clients = [browser(first), browser(second)]
        answers = await asyncio.gather(
            *(clients[i % 2].post("/api/session", json=WRONG) for i in range(30))
        )

    assert sum(a.status_code == 401 for a in answers) == PAIR_LIMIT


async def test_a_refused_sign_in_says_when_to_come_back(app: FastAPI, small_limits: int) -> None:
    async with browser(app) as client:
        for _ in range(small_limits):
            await client.post("/api/session", json=WRONG)
        answer = await client.post("/api/session", json=WRONG)

    assert answer.status_code == 429
    assert 0 < int(answer.headers["Retry-After"]) <= WINDOW.total_seconds()
    assert "too many failed sign-ins" in answer.json()["detail"]


async def test_guesses_spread_over_many_addresses_are_slowed_to_one_at_a_time(
    app: FastAPI, clock: Clock, small_limits: int
) -> None:
    app.state.login_throttle.clock = clock  # stands still: no backoff turn comes round again
    answers = await asyncio.gather(
        *(_guesser(app, n).post("/api/session", json=WRONG) for n in range(12))
    )

    checked = sum(a.status_code == 401 for a in answers)
    # One address's worth of free failures, then one check per backoff turn.
    assert checked == small_limits + 1


async def test_the_owner_gets_in_from_a_new_address_after_a_short_wait_at_most(
    app: FastAPI, clock: Clock, small_limits: int
) -> None:
    # given: someone guessing from ever new addresses for longer than the backoff takes to cap
    app.state.login_throttle.clock = clock
    for n in range(small_limits + 7):
        answer = await _guesser(app, n).post("/api/session", json=WRONG)
        assert answer.status_code == 401
        clock.advance(seconds=EMAIL_BACKOFF_CAP.total_seconds())
    assert (await _guesser(app, 99).post("/api/session", json=WRONG)).status_code == 401

    # when: the owner signs in from an address of their own, right after the last guess
    async with browser(app, "192.0.2.10") as owner:
        answer = await owner.post("/api/session", json=RIGHT)
        if answer.status_code == 429:
            wait = int(answer.headers["Retry-After"])
            assert wait <= EMAIL_BACKOFF_CAP.total_seconds()
            clock.advance(seconds=wait)
            answer = await owner.post("/api/session", json=RIGHT)

        # then
        assert answer.status_code == 200
        assert (await owner.get("/api/me")).json()["email"] == STAFF


async def test_the_owner_gets_in_at_once_from_an_address_they_signed_in_from_before(
    app: FastAPI, small_limits: int
) -> None:
    await signed_in(app, STAFF, DEMO_PASSWORD, address="192.0.2.10")
    for n in range(12):
        await _guesser(app, n).post("/api/session", json=WRONG)

    async with browser(app, "192.0.2.10") as owner:
        assert (await owner.post("/api/session", json=RIGHT)).status_code == 200


async def test_guesses_from_the_owners_own_address_do_not_lock_out_other_addresses(
    app: FastAPI, small_limits: int
) -> None:
    async with browser(app, "203.0.113.5") as attacker:
        for _ in range(small_limits + 3):
            await attacker.post("/api/session", json=WRONG)
        assert (await attacker.post("/api/session", json=RIGHT)).status_code == 429

    async with browser(app, "192.0.2.10") as owner:
        assert (await owner.post("/api/session", json=RIGHT)).status_code == 200


async def test_a_success_clears_the_count_of_its_address(app: FastAPI, small_limits: int) -> None:
    async with browser(app) as client:
        for _ in range(small_limits - 1):
            await client.post("/api/session", json=WRONG)
        assert (await client.post("/api/session", json=RIGHT)).status_code == 200

        answers = [(await client.post("/api/session", json=WRONG)).status_code for _ in range(3)]

    assert answers == [401, 401, 401]


async def test_one_address_trying_many_accounts_is_stopped(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A smaller limit than the real one: the same rule, fewer slow argon2 checks.
    monkeypatch.setattr(throttle_module, "ADDRESS_LIMIT", 5)
    async with browser(app, "203.0.113.9") as sprayer:
        codes = [
            (
                await sprayer.post(
                    "/api/session", json={"email": f"u{n}@x.test", "password": "Winter2026!"}
                )
            ).status_code
            for n in range(throttle_module.ADDRESS_LIMIT + 1)
        ]

    assert codes[-1] == 429 and codes.count(401) == throttle_module.ADDRESS_LIMIT


async def test_ended_counts_are_pruned_so_the_store_stays_bounded(
    demo: Demo, database: Database, clock: Clock
) -> None:
    throttle = LoginThrottle(DatabaseStore(database), secret="k", clock=clock)
    for n in range(200):
        await throttle.reserve(email=f"user{n}@x.test", address=f"10.0.{n // 250}.{n % 250}")
    async with database.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(LoginAttempt)) >= 200

    clock.advance(seconds=WINDOW.total_seconds() + 60)
    await throttle.reserve(email="one-more@x.test", address="10.9.9.9")

    async with database.sessions() as session:
        # Only the last attempt's own counts remain.
        assert await session.scalar(select(func.count()).select_from(LoginAttempt)) <= 3


async def test_the_store_holds_no_email_or_address_in_readable_form(
    demo: Demo, database: Database
) -> None:
    throttle = LoginThrottle(DatabaseStore(database), secret="k")
    await throttle.reserve(email="secret.person@x.test", address="192.0.2.77")

    async with database.sessions() as session:
        keys = list(await session.scalars(select(LoginAttempt.key)))
    assert keys and not any("secret" in k or "192.0.2" in k for k in keys)


async def test_a_count_ends_with_its_window(demo: Demo, database: Database, clock: Clock) -> None:
    throttle = LoginThrottle(DatabaseStore(database), secret="k", clock=clock)
    for _ in range(PAIR_LIMIT):
        await throttle.reserve(email=STAFF, address="192.0.2.1")
    with pytest.raises(TooManyAttempts):
        await throttle.reserve(email=STAFF, address="192.0.2.1")

    clock.advance(seconds=WINDOW.total_seconds() + 1)

    await throttle.reserve(email=STAFF, address="192.0.2.1")
