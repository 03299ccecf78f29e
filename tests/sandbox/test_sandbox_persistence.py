"""With a state file, the sandbox keeps tokens, keys and faults across a restart."""

from __future__ import annotations

from pathlib import Path

from relink.sandbox.seed import API_KEY_ACCOUNTS, IDENTITIES, MANAGER_SUB_ACCOUNTS
from tests.fixtures.sandbox import run_sandbox

MANAGER = "manager@sandbox.test"
KEY_ACCOUNT = API_KEY_ACCOUNTS[0]


def test_tokens_keys_and_faults_survive_a_restart(tmp_path: Path) -> None:
    state_file = tmp_path / "sandbox.json"
    with run_sandbox(state_path=state_file) as before:
        first = before.connect(MANAGER)
        second = before.refresh(first["refresh_token"]).json()
        new_key = before.add_fault("rotate_api_key", account=KEY_ACCOUNT.account.id)["api_key"]
        before.add_fault("unlink_account", account=MANAGER_SUB_ACCOUNTS[0].id)

    with run_sandbox(state_path=state_file) as after:
        after.state.advance_clock(after.state.refresh_reuse_grace + 1)
        assert after.api_get("/api/me", second["access_token"]).status_code == 200
        assert after.api_get("/api/key/verify", new_key).status_code == 200
        assert after.api_get("/api/key/verify", KEY_ACCOUNT.demo_api_key).status_code == 401
        listed = after.api_get("/api/accounts", second["access_token"]).json()["accounts"]
        assert MANAGER_SUB_ACCOUNTS[0].id not in {a["id"] for a in listed}
        # The spent refresh token is still known as spent: reuse is still detected.
        assert after.refresh(first["refresh_token"]).json()["error"] == "invalid_grant"
        assert after.refresh(second["refresh_token"]).json()["error"] == "invalid_grant"


def test_a_rotated_demo_refresh_token_is_not_revived_by_a_restart(tmp_path: Path) -> None:
    state_file = tmp_path / "sandbox.json"
    demo = IDENTITIES[0].demo_refresh_token or ""
    with run_sandbox(state_path=state_file) as before:
        rotated = before.refresh(demo).json()["refresh_token"]

    with run_sandbox(state_path=state_file) as after:
        assert after.refresh(rotated).status_code == 200


def test_without_a_state_file_nothing_is_written(tmp_path: Path) -> None:
    with run_sandbox() as sandbox:
        sandbox.connect(MANAGER)

    assert list(tmp_path.iterdir()) == []
