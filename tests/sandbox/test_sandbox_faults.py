"""Each fault kind gives its documented answer, to its target only, for its duration."""

from __future__ import annotations

import json
import re
import time

import httpx
import pytest

from relink.sandbox.seed import (
    API_KEY_ACCOUNTS,
    API_KEY_PATTERN,
    CLIENT_ID,
    CLIENT_SECRET,
    IDENTITIES,
    MANAGER_SUB_ACCOUNTS,
)
from tests.fixtures.sandbox import SandboxServer

MANAGER = "manager@sandbox.test"
HARBOR = "harbor@sandbox.test"
SUB_1, SUB_2 = MANAGER_SUB_ACCOUNTS[0].id, MANAGER_SUB_ACCOUNTS[1].id
DAY = {"start": "2024-02-01", "end": "2024-02-02"}
EXPIRED_OR_REVOKED = "Token has been expired or revoked."
MANAGER_DEMO_RT = IDENTITIES[0].demo_refresh_token or ""
HARBOR_DEMO_RT = IDENTITIES[1].demo_refresh_token or ""


def _metrics(sandbox: SandboxServer, credential: str, account_id: str) -> httpx.Response:
    return sandbox.api_get(f"/api/accounts/{account_id}/metrics", credential, **DAY)


def _api_code(answer: httpx.Response) -> str:
    code: str = answer.json()["error"]["code"]
    return code


def test_revoke_grant_makes_refresh_invalid_grant_and_api_unauthenticated(
    sandbox: SandboxServer,
) -> None:
    tokens = sandbox.connect(MANAGER)

    sandbox.add_fault("revoke_grant", grant=MANAGER)

    refresh = sandbox.refresh(tokens["refresh_token"])
    assert refresh.status_code == 400
    assert refresh.json() == {"error": "invalid_grant", "error_description": EXPIRED_OR_REVOKED}
    api = sandbox.api_get("/api/accounts", tokens["access_token"])
    assert api.status_code == 401 and _api_code(api) == "UNAUTHENTICATED"


def test_revoke_grant_for_one_identity_leaves_another_working(sandbox: SandboxServer) -> None:
    sandbox.add_fault("revoke_grant", grant="sbx-user-1001")

    assert sandbox.refresh(MANAGER_DEMO_RT).status_code == 400
    assert sandbox.refresh(HARBOR_DEMO_RT).status_code == 200


def test_a_new_consent_after_revoke_grant_works(sandbox: SandboxServer) -> None:
    sandbox.add_fault("revoke_grant", grant=MANAGER)

    tokens = sandbox.connect(MANAGER)

    assert sandbox.refresh(tokens["refresh_token"]).status_code == 200


def test_expire_refresh_answers_expired_or_revoked_but_access_tokens_still_work(
    sandbox: SandboxServer,
) -> None:
    tokens = sandbox.connect(MANAGER)

    sandbox.add_fault("expire_refresh")

    refresh = sandbox.refresh(tokens["refresh_token"])
    assert refresh.json() == {"error": "invalid_grant", "error_description": EXPIRED_OR_REVOKED}
    assert sandbox.api_get("/api/me", tokens["access_token"]).status_code == 200


def test_remove_permission_on_one_account_denies_only_that_account(
    sandbox: SandboxServer,
) -> None:
    token = sandbox.connect(MANAGER)["access_token"]

    sandbox.add_fault("remove_permission", account=SUB_1)

    denied = _metrics(sandbox, token, SUB_1)
    assert denied.status_code == 403 and _api_code(denied) == "PERMISSION_DENIED"
    assert _metrics(sandbox, token, SUB_2).status_code == 200
    assert sandbox.api_get("/api/accounts", token).status_code == 200


def test_remove_permission_for_an_identity_denies_its_account_list(sandbox: SandboxServer) -> None:
    manager = sandbox.connect(MANAGER)["access_token"]
    harbor = sandbox.connect(HARBOR)["access_token"]

    sandbox.add_fault("remove_permission", grant=MANAGER)

    assert _api_code(sandbox.api_get("/api/accounts", manager)) == "PERMISSION_DENIED"
    assert sandbox.api_get("/api/accounts", harbor).status_code == 200


def test_unlink_account_hides_it_from_the_manager_and_answers_not_found(
    sandbox: SandboxServer,
) -> None:
    token = sandbox.connect(MANAGER)["access_token"]

    sandbox.add_fault("unlink_account", account=SUB_1)

    ids = {a["id"] for a in sandbox.api_get("/api/accounts", token).json()["accounts"]}
    assert SUB_1 not in ids and SUB_2 in ids
    gone = _metrics(sandbox, token, SUB_1)
    assert gone.status_code == 404 and _api_code(gone) == "ACCOUNT_NOT_FOUND"


def test_unlinked_account_stays_reachable_for_a_login_with_direct_access(
    sandbox: SandboxServer,
) -> None:
    other = sandbox.connect("other@sandbox.test")["access_token"]

    sandbox.add_fault("unlink_account", account=SUB_1)

    assert _metrics(sandbox, other, SUB_1).status_code == 200


def test_rotate_api_key_kills_the_old_key_and_returns_a_working_new_one(
    sandbox: SandboxServer,
) -> None:
    entry = API_KEY_ACCOUNTS[0]

    answer = sandbox.add_fault("rotate_api_key", account=entry.account.id)

    new_key = answer["api_key"]
    assert re.match(API_KEY_PATTERN, new_key)
    old = sandbox.api_get("/api/key/verify", entry.demo_api_key)
    assert old.status_code == 401 and _api_code(old) == "INVALID_API_KEY"
    assert sandbox.api_get("/api/key/verify", new_key).status_code == 200
    assert sandbox.api_get("/api/key/verify", API_KEY_ACCOUNTS[1].demo_api_key).status_code == 200


def test_rate_limit_answers_429_with_retry_after(sandbox: SandboxServer) -> None:
    token = sandbox.connect(MANAGER)["access_token"]

    sandbox.add_fault("rate_limit", retry_after=7)

    api = sandbox.api_get("/api/accounts", token)
    assert api.status_code == 429 and api.headers["retry-after"] == "7"
    assert _api_code(api) == "RATE_LIMITED"
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
    assert api.status_code == status and _api_code(api) == "INTERNAL"
    assert sandbox.refresh(MANAGER_DEMO_RT).status_code == status


def test_server_error_on_one_account_spares_the_others(sandbox: SandboxServer) -> None:
    token = sandbox.connect(MANAGER)["access_token"]

    sandbox.add_fault("server_error", account=SUB_1)

    assert _metrics(sandbox, token, SUB_1).status_code == 500
    assert _metrics(sandbox, token, SUB_2).status_code == 200


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

    rows = _metrics(sandbox, token, SUB_1).json()["rows"]
    assert isinstance(rows[0]["impressions"], str)
    assert "clicks" not in rows[1]
    assert _metrics(sandbox, token, SUB_2).json()["rows"][0]["impressions"] > 0


def test_malformed_data_non_json_mode_sends_a_body_that_is_not_json(
    sandbox: SandboxServer,
) -> None:
    token = sandbox.connect(MANAGER)["access_token"]

    sandbox.add_fault("malformed_data", mode="non_json")

    answer = _metrics(sandbox, token, SUB_1)
    assert answer.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(answer.text)


def test_invalid_client_answers_401_at_the_token_endpoint_only(sandbox: SandboxServer) -> None:
    token = sandbox.connect(MANAGER)["access_token"]

    sandbox.add_fault("invalid_client")

    refresh = sandbox.refresh(MANAGER_DEMO_RT)
    assert refresh.status_code == 401 and refresh.json()["error"] == "invalid_client"
    assert sandbox.api_get("/api/me", token).status_code == 200


def test_a_fault_with_a_duration_switches_itself_off(sandbox: SandboxServer) -> None:
    token = sandbox.connect(MANAGER)["access_token"]
    sandbox.add_fault("server_error", seconds=60)
    assert sandbox.api_get("/api/me", token).status_code == 500

    sandbox.state.advance_clock(61)

    assert sandbox.api_get("/api/me", token).status_code == 200
    with sandbox.client() as http:
        assert http.get("/admin/faults").json()["faults"] == []


def test_clearing_one_fault_keeps_the_others(sandbox: SandboxServer) -> None:
    first = sandbox.add_fault("rate_limit", grant=MANAGER)["fault"]
    second = sandbox.add_fault("server_error", grant=HARBOR)["fault"]

    with sandbox.client() as http:
        assert http.delete(f"/admin/faults/{first['id']}").json() == {"cleared": 1}
        listed = http.get("/admin/faults").json()["faults"]

    assert [f["id"] for f in listed] == [second["id"]]


def test_clearing_all_faults_heals_everything(sandbox: SandboxServer) -> None:
    tokens = sandbox.connect(MANAGER)
    sandbox.add_fault("revoke_grant", grant=MANAGER)
    sandbox.add_fault("rate_limit")

    with sandbox.client() as http:
        http.delete("/admin/faults")

    assert sandbox.refresh(tokens["refresh_token"]).status_code == 200


def test_an_unknown_fault_target_is_refused(sandbox: SandboxServer) -> None:
    with sandbox.client() as http:
        answer = http.post("/admin/faults", json={"kind": "rate_limit", "grant": "nobody@x"})

    assert answer.status_code == 400


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


def test_a_fault_limited_to_one_request_answers_once(sandbox: SandboxServer) -> None:
    tokens = sandbox.connect(MANAGER)
    sandbox.add_fault("server_error", grant=MANAGER, times=1)

    first = sandbox.api_get("/api/me", tokens["access_token"])
    second = sandbox.api_get("/api/me", tokens["access_token"])

    assert (first.status_code, second.status_code) == (500, 200)


def test_a_fault_on_the_oauth_surface_spares_the_data_api(sandbox: SandboxServer) -> None:
    tokens = sandbox.connect(MANAGER)
    sandbox.add_fault("server_error", surface="oauth")

    assert sandbox.refresh(tokens["refresh_token"]).status_code == 500
    assert sandbox.api_get("/api/me", tokens["access_token"]).status_code == 200


def test_faults_switched_on_one_after_another_strike_in_that_order(
    sandbox: SandboxServer,
) -> None:
    tokens = sandbox.connect(MANAGER)
    sandbox.add_fault("drop_response", surface="oauth", times=1)
    sandbox.add_fault("server_error", status=503, surface="oauth", times=1)
    sandbox.add_fault("rate_limit", surface="oauth", times=1)

    with pytest.raises(httpx.TransportError):
        sandbox.refresh(tokens["refresh_token"])
    statuses = [sandbox.refresh(tokens["refresh_token"]).status_code for _ in range(3)]

    assert statuses == [503, 429, 200]


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
