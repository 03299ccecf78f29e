"""The data API: accounts a login reaches, deterministic metrics, API keys."""

from __future__ import annotations

from typing import Any

import pytest

from relink.sandbox.seed import API_KEY_ACCOUNTS, API_KEY_PATTERN, MANAGER, MANAGER_SUB_ACCOUNTS
from tests.fixtures.sandbox import SandboxServer

KEY_ACCOUNT = API_KEY_ACCOUNTS[0]


@pytest.fixture
def manager_token(sandbox: SandboxServer) -> str:
    token: str = sandbox.connect("manager@sandbox.test")["access_token"]
    return token


def _metrics(sandbox: SandboxServer, credential: str, account_id: str, **params: str) -> Any:
    return sandbox.api_get(f"/api/accounts/{account_id}/metrics", credential, **params)


def test_manager_login_reaches_its_sub_accounts(sandbox: SandboxServer, manager_token: str) -> None:
    accounts = sandbox.api_get("/api/accounts", manager_token).json()["accounts"]

    ids = {a["id"] for a in accounts}
    assert ids == {MANAGER.id, *(a.id for a in MANAGER_SUB_ACCOUNTS)}
    sub = next(a for a in accounts if a["id"] == MANAGER_SUB_ACCOUNTS[0].id)
    assert sub == {
        "id": sub["id"],
        "name": "Northwind Ads 01",
        "manager_id": MANAGER.id,
        "time_zone": "America/Los_Angeles",
    }


def test_other_login_reaches_only_three_of_the_managers_accounts(sandbox: SandboxServer) -> None:
    token = sandbox.connect("other@sandbox.test")["access_token"]

    accounts = sandbox.api_get("/api/accounts", token).json()["accounts"]

    assert {a["id"] for a in accounts} == {a.id for a in MANAGER_SUB_ACCOUNTS[:3]}


def test_metrics_are_the_same_numbers_every_time(
    sandbox: SandboxServer, manager_token: str
) -> None:
    account = MANAGER_SUB_ACCOUNTS[0].id
    params = {"start": "2024-01-01", "end": "2024-01-31"}

    first = _metrics(sandbox, manager_token, account, **params).json()
    again = _metrics(sandbox, manager_token, account, start="2024-01-15", end="2024-01-15").json()

    assert len(first["rows"]) == 31
    assert again["rows"] == [r for r in first["rows"] if r["date"] == "2024-01-15"]
    for row in first["rows"]:
        assert isinstance(row["impressions"], int) and isinstance(row["clicks"], int)
        assert 0 <= row["clicks"] <= row["impressions"]
        assert row["cost"] == round(row["cost"], 2)
        assert isinstance(row["conversions"], float)


def test_metrics_differ_between_accounts(sandbox: SandboxServer, manager_token: str) -> None:
    day = {"start": "2024-03-01", "end": "2024-03-01"}

    a = _metrics(sandbox, manager_token, MANAGER_SUB_ACCOUNTS[0].id, **day).json()["rows"]
    b = _metrics(sandbox, manager_token, MANAGER_SUB_ACCOUNTS[1].id, **day).json()["rows"]

    assert a != b


@pytest.mark.parametrize(
    ("start", "end"),
    [("2024-01-10", "2024-01-09"), ("2023-01-01", "2024-02-05"), ("2024-1-1", "2024-01-02")],
)
def test_bad_metric_ranges_are_refused_with_400(
    sandbox: SandboxServer, manager_token: str, start: str, end: str
) -> None:
    answer = _metrics(sandbox, manager_token, MANAGER_SUB_ACCOUNTS[0].id, start=start, end=end)

    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "INVALID_ARGUMENT"


def test_metrics_of_an_account_the_login_does_not_reach_are_permission_denied(
    sandbox: SandboxServer, manager_token: str
) -> None:
    harbor_account = "cust-200-000-0201"

    answer = _metrics(sandbox, manager_token, harbor_account, start="2024-01-01", end="2024-01-01")

    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "PERMISSION_DENIED"


def test_metrics_of_an_unknown_account_are_not_found(
    sandbox: SandboxServer, manager_token: str
) -> None:
    answer = _metrics(sandbox, manager_token, "cust-999", start="2024-01-01", end="2024-01-01")

    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "ACCOUNT_NOT_FOUND"


def test_missing_or_unknown_bearer_token_is_unauthenticated(sandbox: SandboxServer) -> None:
    with sandbox.client() as http:
        missing = http.get("/api/accounts")
    unknown = sandbox.api_get("/api/accounts", "sbx_at_nope")

    assert missing.status_code == unknown.status_code == 401
    assert missing.json()["error"]["code"] == unknown.json()["error"]["code"] == "UNAUTHENTICATED"


def test_demo_api_keys_match_the_catalog_format(sandbox: SandboxServer) -> None:
    import re

    assert all(re.match(API_KEY_PATTERN, entry.demo_api_key) for entry in API_KEY_ACCOUNTS)


def test_valid_api_key_verifies_and_names_its_account(sandbox: SandboxServer) -> None:
    answer = sandbox.api_get("/api/key/verify", KEY_ACCOUNT.demo_api_key)

    assert answer.status_code == 200
    assert answer.json() == {"account_id": KEY_ACCOUNT.account.id, "name": KEY_ACCOUNT.account.name}


def test_wrong_api_key_is_invalid_api_key(sandbox: SandboxServer) -> None:
    answer = sandbox.api_get("/api/key/verify", "sbx_live_" + "x" * 32)

    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "INVALID_API_KEY"


def test_api_key_reads_metrics_of_its_own_account_only(sandbox: SandboxServer) -> None:
    day = {"start": "2024-01-01", "end": "2024-01-02"}
    key = KEY_ACCOUNT.demo_api_key

    own = _metrics(sandbox, key, KEY_ACCOUNT.account.id, **day)
    other = _metrics(sandbox, key, API_KEY_ACCOUNTS[1].account.id, **day)

    assert own.status_code == 200 and len(own.json()["rows"]) == 2
    assert other.status_code == 403


def test_api_key_lists_exactly_its_account(sandbox: SandboxServer) -> None:
    answer = sandbox.api_get("/api/accounts", KEY_ACCOUNT.demo_api_key)

    assert [a["id"] for a in answer.json()["accounts"]] == [KEY_ACCOUNT.account.id]
