"""Transient faults (429, 5xx, slow, dropped answers, bad data) answer as documented."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from relink.sandbox.seed import (
    CLIENT_ID,
    CLIENT_SECRET,
)
from tests.fixtures.sandbox import SandboxServer
from tests.sandbox.fault_calls import (
    HARBOR,
    MANAGER,
    MANAGER_DEMO_RT,
    SUB_1,
    SUB_2,
    api_code,
    metrics_of,
)


def test_rate_limit_answers_429_with_retry_after(sandbox: SandboxServer) -> None:
    token = sandbox.connect(MANAGER)["access_token"]

    sandbox.add_fault("rate_limit", retry_after=7)

    api = sandbox.api_get("/api/accounts", token)
    assert api.status_code == 429 and api.headers["retry-after"] == "7"
    assert api_code(api) == "RATE_LIMITED"
    refresh = sandbox.refresh(MANAGER_DEMO_RT)
    assert refresh.status_code == 429 and refresh.headers["retry-after"] == "7"


def test_rate_limit_for_one_identity_spares_another(sandbox: SandboxServer) -> None:
    manager = sandbox.connect(MANAGER)["access_token"]
    harbor = sandbox.connect(HARBOR)["access_token"]

    sandbox.add_fault("rate_limit", grant=MANAGER)

    assert sandbox.api_get("/api/accounts", manager).status_code == 429
    assert sandbox.api_get("/api/accounts", harbor).status_code == 200


@pytest.mark.parametrize("status", [500, 503])
def test_server_error_answers_internal_with_the_chosen_status(
    sandbox: SandboxServer, status: int
) -> None:
    token = sandbox.connect(MANAGER)["access_token"]

    sandbox.add_fault("server_error", status=status)

    api = sandbox.api_get("/api/accounts", token)
    assert api.status_code == status and api_code(api) == "INTERNAL"
    assert sandbox.refresh(MANAGER_DEMO_RT).status_code == status


def test_server_error_on_one_account_spares_the_others(sandbox: SandboxServer) -> None:
    token = sandbox.connect(MANAGER)["access_token"]

    sandbox.add_fault("server_error", account=SUB_1)

    assert metrics_of(sandbox, token, SUB_1).status_code == 500
    assert metrics_of(sandbox, token, SUB_2).status_code == 200


def test_slow_waits_before_answering(sandbox: SandboxServer) -> None:
    token = sandbox.connect(MANAGER)["access_token"]
    sandbox.add_fault("slow", delay=0.4)

    started = time.monotonic()
    answer = sandbox.api_get("/api/me", token)

    assert answer.status_code == 200
    assert time.monotonic() - started >= 0.4


def test_drop_response_rotates_the_token_but_the_client_sees_a_lost_connection(
    sandbox: SandboxServer,
) -> None:
    tokens = sandbox.connect(MANAGER)
    sandbox.add_fault("drop_response", grant=MANAGER)

    with pytest.raises(httpx.TransportError):
        sandbox.refresh(tokens["refresh_token"])

    spent = sandbox.state.tokens_by_refresh[tokens["refresh_token"]]
    assert spent.refresh_status == "used"
    family_tokens = sandbox.state.tokens_in_family(spent.family_id)
    assert [t.refresh_status for t in family_tokens].count("active") == 1
    assert sandbox.state.stats.dropped_responses == 1


def test_malformed_data_sends_rows_with_wrong_types_and_missing_fields(
    sandbox: SandboxServer,
) -> None:
    token = sandbox.connect(MANAGER)["access_token"]

    sandbox.add_fault("malformed_data", account=SUB_1)

    rows = metrics_of(sandbox, token, SUB_1).json()["rows"]
    assert isinstance(rows[0]["impressions"], str)
    assert "clicks" not in rows[1]
    assert metrics_of(sandbox, token, SUB_2).json()["rows"][0]["impressions"] > 0


def test_malformed_data_non_json_mode_sends_a_body_that_is_not_json(
    sandbox: SandboxServer,
) -> None:
    token = sandbox.connect(MANAGER)["access_token"]

    sandbox.add_fault("malformed_data", mode="non_json")

    answer = metrics_of(sandbox, token, SUB_1)
    assert answer.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(answer.text)


def test_retrying_a_dropped_refresh_at_once_gets_fresh_tokens(sandbox: SandboxServer) -> None:
    tokens = sandbox.connect(MANAGER)
    drop = sandbox.add_fault("drop_response", grant=MANAGER)["fault"]
    with pytest.raises(httpx.TransportError):
        sandbox.refresh(tokens["refresh_token"])
    sandbox.state.faults.clear(drop["id"])

    retry = sandbox.refresh(tokens["refresh_token"])

    assert retry.status_code == 200, retry.text
    assert sandbox.state.stats.refresh_token_reuse_detected == 0


def test_retrying_a_dropped_refresh_after_the_grace_period_is_reuse(
    sandbox: SandboxServer,
) -> None:
    # What a client that kept the old token too long meets at a strictly rotating provider.
    tokens = sandbox.connect(MANAGER)
    drop = sandbox.add_fault("drop_response", grant=MANAGER)["fault"]
    with pytest.raises(httpx.TransportError):
        sandbox.refresh(tokens["refresh_token"])
    sandbox.state.faults.clear(drop["id"])
    sandbox.state.advance_clock(sandbox.state.refresh_reuse_grace + 1)

    retry = sandbox.refresh(tokens["refresh_token"])

    assert retry.json()["error"] == "invalid_grant"
    assert sandbox.state.stats.refresh_token_reuse_detected == 1


def test_a_refresh_the_client_gave_up_on_is_still_carried_out(sandbox: SandboxServer) -> None:
    # A hanging token endpoint: the client stops waiting, the provider rotates anyway.
    tokens = sandbox.connect(MANAGER)
    sandbox.add_fault("slow", delay=0.6, surface="oauth", times=1)

    form = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    with (
        httpx.Client(base_url=sandbox.url, timeout=0.2) as impatient,
        pytest.raises(httpx.TimeoutException),
    ):
        impatient.post("/oauth/token", data=form, auth=(CLIENT_ID, CLIENT_SECRET))
    time.sleep(0.8)

    assert sandbox.state.tokens_by_refresh[tokens["refresh_token"]].refresh_status == "used"
