"""The issue's story for a script, end to end over real HTTP with an admin's API token and no
browser: it lists what is broken, reads a broken data source's sync runs and history, starts a
reconnect, creates a client reconnect link and watches a queued sweep finish."""

from __future__ import annotations

import time
from typing import Any

import httpx

from relink.db import Database
from tests.api_tokens.conftest import made_token, script
from tests.fixtures.demo import Demo
from tests.fixtures.sandbox import SandboxServer

REVOKED_LOGIN = "harbor@sandbox.test"
# A requested sweep of the demo finishes in well under this.
SWEEP_SECONDS = 30


def _ok(answer: httpx.Response, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return answer.json()


def _wait_for_job(cron: httpx.Client, status_url: str) -> dict[str, Any]:
    deadline = time.monotonic() + SWEEP_SECONDS
    while True:
        job: dict[str, Any] = _ok(cron.get(status_url))
        if job["state"] in ("done", "failed") or time.monotonic() > deadline:
            return job
        time.sleep(0.2)


async def test_a_script_with_a_token_finds_and_starts_repairing_a_revoked_login(
    app_url: str, demo: Demo, database: Database, sandbox: SandboxServer
) -> None:
    _, value = await made_token(database, demo.admin.id, name="monitoring cron")
    sandbox.add_fault("revoke_grant", grant=REVOKED_LOGIN)
    with script(app_url, value) as cron:
        # A sweep, queued and watched to its end: it finds the revoked login.
        queued = _ok(cron.post("/api/v1/health/sweep"), 202)
        assert queued["status_url"] == f"/api/v1/jobs/{queued['job_id']}"
        job = _wait_for_job(cron, queued["status_url"])
        assert job["state"] == "done", job

        # What is broken: the revoked login's data sources, all on one grant.
        broken = _ok(cron.get("/api/v1/data-sources", params={"status": "disconnected"}))["items"]
        assert broken and {row["grant_identity_name"] for row in broken} == {REVOKED_LOGIN}
        grant_id = broken[0]["grant_id"]
        data_source_id = broken[0]["id"]

        # One of them: its imports, and the disconnect in its history.
        _ok(cron.get(f"/api/v1/data-sources/{data_source_id}/sync-runs"))
        history = _ok(
            cron.get(
                "/api/v1/events",
                params={"data_source_id": data_source_id, "action": "status_changed"},
            )
        )["items"]
        assert history[0]["to_status"] == "disconnected"

        # A reconnect started: where a person of the agency finishes it.
        started = _ok(cron.post(f"/api/v1/grants/{grant_id}/reconnect"))
        assert started["reconnect_url"].endswith(f"/grants/{grant_id}/reconnect")

        # Or a link for the client's own person.
        link = _ok(cron.post(f"/api/v1/grants/{grant_id}/reconnect-links", json={"days": 3}), 201)
        assert "/r/" in link["url"] and link["expires_at"]

        # Which the script can withdraw by the id the answer named.
        withdrawn = cron.delete(f"/api/v1/grants/{grant_id}/reconnect-links/{link['id']}")
        assert withdrawn.status_code == 204, withdrawn.text

    # No browser was involved: no cookie was ever set.
    assert cron.cookies == {}
