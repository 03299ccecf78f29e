"""A script with a token starts a reconnect: it is told where a person finishes it, not handed
a consent page bound to a browser session nobody holds."""

from __future__ import annotations

import httpx

from relink.db import Database
from tests.api_tokens.conftest import made_token, script
from tests.fixtures.demo import Demo


async def test_a_token_gets_the_reconnect_page_and_no_dead_consent_url(
    app_url: str, demo: Demo, database: Database
) -> None:
    _, value = await made_token(database, demo.admin.id)
    grant = demo.shared_grant_id

    with script(app_url, value) as token_script:
        answer = token_script.post(f"/api/v1/grants/{grant}/reconnect")

    assert answer.status_code == 200, answer.text
    assert answer.json()["authorize_url"] is None
    assert answer.json()["reconnect_url"].endswith(f"/grants/{grant}/reconnect")


def test_a_signed_in_browser_still_gets_its_consent_url(admin: httpx.Client, demo: Demo) -> None:
    answer = admin.post(f"/api/v1/grants/{demo.shared_grant_id}/reconnect")

    assert answer.status_code == 200
    assert "/oauth/authorize?" in answer.json()["authorize_url"]
    assert answer.json()["reconnect_url"].endswith(f"/grants/{demo.shared_grant_id}/reconnect")
