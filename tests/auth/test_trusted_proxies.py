"""Whose address counts: `relink serve` believes X-Forwarded-For only from trusted proxies."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from relink.auth.throttle import PAIR_LIMIT
from relink.demo import DEMO_PASSWORD
from tests.fixtures import processes
from tests.fixtures.demo import Demo
from tests.fixtures.processes import relink_env

STAFF = "staff@demo.relink.test"
ADMIN = {"email": "admin@demo.relink.test", "password": DEMO_PASSWORD}


@contextmanager
def relink_serve(
    tmp_path: Path, *, database_url: str, secret_key: str, trusted_proxies: str | None = None
) -> Iterator[str]:
    """The real `relink serve` on a free port, its scheduler off."""
    env = relink_env(
        database_url=database_url,
        secret_key=secret_key,
        sandbox_url="http://127.0.0.1:9",
        var_dir=tmp_path / "serve-var",
    )
    env["RELINK_EMBEDDED_WORKER"] = "false"
    if trusted_proxies is not None:
        env["RELINK_TRUSTED_PROXIES"] = trusted_proxies
    with processes.relink_serve(env, ready_path="/api/session/csrf") as url:
        yield url


def _forged(n: int) -> dict[str, str]:
    return {"X-Forwarded-For": f"198.51.100.{n + 1}"}


def test_a_forged_forwarded_for_changes_no_address_by_default(
    demo: Demo, database_url: str, secret_key: str, tmp_path: Path
) -> None:
    with relink_serve(tmp_path, database_url=database_url, secret_key=secret_key) as url:
        wrong = {"email": STAFF, "password": "wrong-password-x"}
        codes = [
            httpx.post(f"{url}/api/session", json=wrong, headers=_forged(n)).status_code
            for n in range(PAIR_LIMIT + 1)
        ]
        with httpx.Client(base_url=url, headers=_forged(99)) as client:
            client.post("/api/session", json=ADMIN).raise_for_status()
            (mine,) = client.get("/api/sessions").json()

    # Every guess counted against the one real address, whatever the header said.
    assert codes == [401] * PAIR_LIMIT + [429]
    assert mine["address"] == "127.0.0.1"


def test_a_trusted_proxys_forwarded_for_gives_the_clients_address(
    demo: Demo, database_url: str, secret_key: str, tmp_path: Path
) -> None:
    with (
        relink_serve(
            tmp_path, database_url=database_url, secret_key=secret_key, trusted_proxies="127.0.0.1"
        ) as url,
        httpx.Client(base_url=url, headers=_forged(43)) as client,
    ):
        client.post("/api/session", json=ADMIN).raise_for_status()
        (mine,) = client.get("/api/sessions").json()

    assert mine["address"] == "198.51.100.44"
