"""Admin API counters and reset, and the app factory's settings."""

from __future__ import annotations

import pytest

from relink.sandbox.app import DEFAULT_REDIRECT_URIS, REDIRECT_URIS_ENV, redirect_uris_from_env
from relink.sandbox.seed import IDENTITIES
from tests.fixtures.sandbox import SandboxServer, run_sandbox

MANAGER = "manager@sandbox.test"


def test_stats_count_token_calls_api_calls_and_triggered_faults(sandbox: SandboxServer) -> None:
    tokens = sandbox.connect(MANAGER)
    sandbox.api_get("/api/accounts/cust-100-000-0101/metrics", tokens["access_token"])
    sandbox.add_fault("rate_limit")
    sandbox.api_get("/api/accounts", tokens["access_token"])

    with sandbox.client() as http:
        stats = http.get("/admin/stats").json()

    assert stats["token_requests"] == {"authorization_code": 1}
    assert stats["api_requests"] == {"metrics": 1, "accounts": 1}
    assert stats["api_requests_by_account"] == {"cust-100-000-0101": 1}
    assert stats["faults_triggered"] == {"rate_limit": 1}
    assert stats["active_faults"] == 1


def test_reset_restores_the_seeded_world(sandbox: SandboxServer) -> None:
    demo = IDENTITIES[0].demo_refresh_token or ""
    sandbox.refresh(demo)
    sandbox.add_fault("server_error")

    with sandbox.client() as http:
        assert http.post("/admin/reset").json() == {"ok": True}

    assert sandbox.refresh(demo).status_code == 200
    assert sandbox.state.stats.token_requests["refresh_token"] == 1


def test_access_token_lifetime_is_configurable() -> None:
    with run_sandbox(access_token_ttl=60) as sandbox:
        assert sandbox.connect(MANAGER)["expires_in"] == 60


def test_redirect_uris_come_from_the_env_as_a_comma_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(REDIRECT_URIS_ENV, "http://a.test/cb, http://b.test/cb")

    assert redirect_uris_from_env() == ["http://a.test/cb", "http://b.test/cb"]


def test_redirect_uri_defaults_to_a_local_relink(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(REDIRECT_URIS_ENV, raising=False)

    assert redirect_uris_from_env() == list(DEFAULT_REDIRECT_URIS)
