"""Each fault that needs a person gives its documented answer, to its target only; switches."""

from __future__ import annotations

import re

import httpx
import pytest

from relink.sandbox.seed import (
    API_KEY_ACCOUNTS,
    API_KEY_PATTERN,
)
from tests.fixtures.sandbox import SandboxServer
from tests.sandbox.fault_calls import (
    EXPIRED_OR_REVOKED,
    HARBOR,
    HARBOR_DEMO_RT,
    MANAGER,
    MANAGER_DEMO_RT,
    SUB_1,
    SUB_2,
    api_code,
    metrics_of,
)


def test_revoke_grant_makes_refresh_invalid_grant_and_api_unauthenticated(
    sandbox: SandboxServer,
) -> None:
    tokens = sandbox.connect(MANAGER)

    sandbox.add_fault("revoke_grant", grant=MANAGER)

    refresh = sandbox.refresh(tokens["refresh_token"])
    assert refresh.status_code == 400
    assert refresh.json() == {"error": "invalid_grant", "error_description": EXPIRED_OR_REVOKED}
    api = sandbox.api_get("/api/accounts", tokens["access_token"])
    assert api.status_code == 401 and api_code(api) == "UNAUTHENTICATED"


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

    denied = metrics_of(sandbox, token, SUB_1)
    assert denied.status_code == 403 and api_code(denied) == "PERMISSION_DENIED"
    assert metrics_of(sandbox, token, SUB_2).status_code == 200
    assert sandbox.api_get("/api/accounts", token).status_code == 200


def test_remove_permission_for_an_identity_denies_its_account_list(sandbox: SandboxServer) -> None:
    manager = sandbox.connect(MANAGER)["access_token"]
    harbor = sandbox.connect(HARBOR)["access_token"]

    sandbox.add_fault("remove_permission", grant=MANAGER)

    assert api_code(sandbox.api_get("/api/accounts", manager)) == "PERMISSION_DENIED"
    assert sandbox.api_get("/api/accounts", harbor).status_code == 200


def test_unlink_account_hides_it_from_the_manager_and_answers_not_found(
    sandbox: SandboxServer,
) -> None:
    token = sandbox.connect(MANAGER)["access_token"]

    sandbox.add_fault("unlink_account", account=SUB_1)

    ids = {a["id"] for a in sandbox.api_get("/api/accounts", token).json()["accounts"]}
    assert SUB_1 not in ids and SUB_2 in ids
    gone = metrics_of(sandbox, token, SUB_1)
    assert gone.status_code == 404 and api_code(gone) == "ACCOUNT_NOT_FOUND"


def test_unlinked_account_stays_reachable_for_a_login_with_direct_access(
    sandbox: SandboxServer,
) -> None:
    other = sandbox.connect("other@sandbox.test")["access_token"]

    sandbox.add_fault("unlink_account", account=SUB_1)

    assert metrics_of(sandbox, other, SUB_1).status_code == 200


def test_rotate_api_key_kills_the_old_key_and_returns_a_working_new_one(
    sandbox: SandboxServer,
) -> None:
    entry = API_KEY_ACCOUNTS[0]

    answer = sandbox.add_fault("rotate_api_key", account=entry.account.id)

    new_key = answer["api_key"]
    assert re.match(API_KEY_PATTERN, new_key)
    old = sandbox.api_get("/api/key/verify", entry.demo_api_key)
    assert old.status_code == 401 and api_code(old) == "INVALID_API_KEY"
    assert sandbox.api_get("/api/key/verify", new_key).status_code == 200
    assert sandbox.api_get("/api/key/verify", API_KEY_ACCOUNTS[1].demo_api_key).status_code == 200


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
