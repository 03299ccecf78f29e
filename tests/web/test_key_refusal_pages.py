"""A key refused by Relink's format check reads as a format problem; one the provider refused
reads as the provider's refusal: on the re-verify form and on the connect form."""

from __future__ import annotations

import re
from html import unescape

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from relink.sandbox.seed import API_KEY_ACCOUNTS
from tests.fixtures.data_sources import key_source
from tests.fixtures.demo import Demo

DEMO_KEY = API_KEY_ACCOUNTS[0].demo_api_key
BAD_PREFIX = DEMO_KEY.replace("sbx_live_", "sbx_test_")
WELL_FORMED_WRONG_KEY = "sbx_live_" + "abcdefghijklmnopqrstuvwxyzABCDEF"
FORMAT_TITLE = "This doesn't look like a Sandbox Call Tracking key: a key starts with sbx_live_"
LIVE_TITLE = "Sandbox Call Tracking refused this key."


def _alert(page: str) -> str:
    found = re.search(r'<div class="banner bad" role="alert"[^>]*>(.*?)</div>', page, re.S)
    assert found is not None, "no alert on the page"
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", "", found.group(1)))).strip()


def _csrf(page: str) -> str:
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    return unescape(token.group(1))


@pytest.mark.parametrize(
    ("key", "title", "not_title"),
    [
        (BAD_PREFIX, FORMAT_TITLE, "refused this key"),
        (WELL_FORMED_WRONG_KEY, LIVE_TITLE, "doesn't look like"),
    ],
    ids=["format", "live"],
)
async def test_the_reverify_form_heads_a_refusal_by_who_refused(
    admin: httpx.Client, session: AsyncSession, demo: Demo, key: str, title: str, not_title: str
) -> None:
    source = await key_source(session)
    url = f"/data-sources/{source.id}/credentials"
    form = admin.get(url).text

    answer = admin.post(url, data={"csrf_token": _csrf(form), "api_key": key})

    assert answer.status_code == 422
    alert = _alert(answer.text)
    assert alert.startswith(title), alert
    assert not_title not in alert
    assert "the previous key is still saved" in alert


@pytest.mark.parametrize(
    ("key", "title", "not_title"),
    [
        (BAD_PREFIX, FORMAT_TITLE, "refused this key"),
        (WELL_FORMED_WRONG_KEY, LIVE_TITLE, "doesn't look like"),
    ],
    ids=["format", "live"],
)
async def test_the_connect_form_heads_a_refusal_by_who_refused(
    admin: httpx.Client, demo: Demo, key: str, title: str, not_title: str
) -> None:
    answer = admin.post(
        "/connect/sandbox_api/key", data={"api_key": key, "client_id": demo.clients[0].id}
    )

    assert answer.status_code == 422
    alert = _alert(answer.text)
    assert alert.startswith(title), alert
    assert not_title not in alert
