"""Reconnect links are built on RELINK_BASE_URL, never on the Host a request claims."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest

from relink.grants.links import link_url
from tests.fixtures.demo import Demo

# run_app serves the tests' app with this base URL (the sandbox's registered callback host).
CONFIGURED_BASE_URL = "http://127.0.0.1:8000"


@pytest.mark.parametrize(
    "forged",
    [
        {"Host": "evil.example"},
        {"Host": "evil.example:443", "X-Forwarded-Host": "evil.example"},
        {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example"},
    ],
)
async def test_a_reconnect_link_ignores_a_forged_host(
    demo: Demo, admin: httpx.Client, forged: dict[str, str]
) -> None:
    answer = admin.post(
        f"/api/grants/{demo.shared_grant_id}/reconnect-links", json={"days": 7}, headers=forged
    )

    assert answer.status_code == 201
    url = answer.json()["url"]
    assert url.startswith(f"{CONFIGURED_BASE_URL}/r/")
    assert "evil" not in url
    # The link it made is a real one: its page opens on the app.
    assert "Sign in and reconnect" in admin.get(urlsplit(url).path).text


def test_a_link_url_has_one_slash_whatever_the_base_url_ends_with() -> None:
    assert link_url("https://relink.example/", "tok") == "https://relink.example/r/tok"
    assert link_url("https://relink.example/app", "tok") == "https://relink.example/app/r/tok"
