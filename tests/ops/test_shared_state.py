"""Two app processes over one database agree on who is signed in.

(The sign-in throttle's shared count is tested in tests/auth/test_throttle.py and, on Redis,
tests/auth/test_throttle_redis.py.)
"""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from relink.demo import DEMO_PASSWORD
from tests.auth.conftest import browser, serving, signed_in
from tests.fixtures.demo import Demo

STAFF = "staff@demo.relink.test"
COOKIE = "relink_session"


def _same_browser_at(other: FastAPI, client: httpx.AsyncClient) -> httpx.AsyncClient:
    """The same browser (its cookie) sent to the other process, as a load balancer would."""
    moved = browser(other)
    moved.cookies.set(COOKIE, client.cookies[COOKIE])
    return moved


async def _me(client: httpx.AsyncClient) -> int:
    return (await client.get("/api/me")).status_code


async def test_a_session_started_in_one_process_is_good_in_the_other(
    demo: Demo, database_url: str
) -> None:
    async with serving(database_url) as first, serving(database_url) as second:
        owner = await signed_in(first, STAFF, DEMO_PASSWORD)

        assert await _me(_same_browser_at(second, owner)) == 200


async def test_signing_out_in_one_process_ends_the_session_in_the_other(
    demo: Demo, database_url: str
) -> None:
    async with serving(database_url) as first, serving(database_url) as second:
        owner = await signed_in(first, STAFF, DEMO_PASSWORD)
        elsewhere = _same_browser_at(second, owner)
        assert await _me(elsewhere) == 200

        assert (await owner.delete("/api/session")).status_code == 204

        assert await _me(elsewhere) == 401


async def test_signing_out_everywhere_reaches_sessions_served_by_the_other_process(
    demo: Demo, database_url: str
) -> None:
    async with serving(database_url) as first, serving(database_url) as second:
        laptop = await signed_in(first, STAFF, DEMO_PASSWORD)
        laptop_through_second = _same_browser_at(second, laptop)
        phone = await signed_in(second, STAFF, DEMO_PASSWORD)

        assert (await phone.delete("/api/sessions")).json() == {"ended": 2}

        assert await _me(laptop) == 401
        assert await _me(laptop_through_second) == 401
