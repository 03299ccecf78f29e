"""Refresh token rotation, reuse detection, revocation and access token expiry."""

from __future__ import annotations

from relink.sandbox.seed import IDENTITIES, SCOPES
from tests.fixtures.sandbox import SandboxServer

MANAGER = "manager@sandbox.test"
DEMO_MANAGER_REFRESH_TOKEN = IDENTITIES[0].demo_refresh_token or ""


def test_refresh_returns_a_new_refresh_token_and_a_working_access_token(
    sandbox: SandboxServer,
) -> None:
    first = sandbox.connect(MANAGER)

    answer = sandbox.refresh(first["refresh_token"])

    assert answer.status_code == 200, answer.text
    second = answer.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["expires_in"] == 3600
    assert sandbox.api_get("/api/me", second["access_token"]).status_code == 200


def test_seeded_demo_refresh_token_works_at_start(sandbox: SandboxServer) -> None:
    answer = sandbox.refresh(DEMO_MANAGER_REFRESH_TOKEN)

    assert answer.status_code == 200, answer.text
    assert answer.json()["scope"] == " ".join(SCOPES)
    me = sandbox.api_get("/api/me", answer.json()["access_token"]).json()
    assert me["email"] == MANAGER


def test_reusing_a_spent_refresh_token_revokes_the_whole_family(sandbox: SandboxServer) -> None:
    first = sandbox.connect(MANAGER)
    second = sandbox.refresh(first["refresh_token"]).json()
    sandbox.state.advance_clock(sandbox.state.refresh_reuse_grace + 1)

    reuse = sandbox.refresh(first["refresh_token"])

    assert reuse.status_code == 400
    assert reuse.json()["error"] == "invalid_grant"
    assert sandbox.refresh(second["refresh_token"]).json()["error"] == "invalid_grant"
    assert sandbox.api_get("/api/me", second["access_token"]).json()["error"]["code"] == (
        "UNAUTHENTICATED"
    )
    assert sandbox.state.stats.refresh_token_reuse_detected == 1


def test_a_spent_refresh_token_works_again_inside_the_grace_period(
    sandbox: SandboxServer,
) -> None:
    first = sandbox.connect(MANAGER)
    sandbox.refresh(first["refresh_token"])

    again = sandbox.refresh(first["refresh_token"])

    assert again.status_code == 200, again.text
    assert sandbox.state.stats.refresh_token_reuse_detected == 0
    assert sandbox.state.stats.refresh_token_grace_reuse == 1


def test_reuse_in_one_family_leaves_other_families_alive(sandbox: SandboxServer) -> None:
    mine = sandbox.connect(MANAGER)
    other = sandbox.connect("harbor@sandbox.test")
    sandbox.refresh(mine["refresh_token"])
    sandbox.state.advance_clock(sandbox.state.refresh_reuse_grace + 1)

    sandbox.refresh(mine["refresh_token"])

    assert sandbox.refresh(other["refresh_token"]).status_code == 200


def test_unknown_refresh_token_is_invalid_grant(sandbox: SandboxServer) -> None:
    answer = sandbox.refresh("sbx_rt_never_issued")

    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"
    assert answer.json()["error_description"]


def test_token_calls_are_counted_per_grant_type_and_identity(sandbox: SandboxServer) -> None:
    tokens = sandbox.connect(MANAGER)
    sandbox.refresh(tokens["refresh_token"])

    stats = sandbox.state.stats
    assert stats.token_requests["authorization_code"] == 1
    assert stats.token_requests["refresh_token"] == 1
    assert stats.token_requests_by_subject["sbx-user-1001"] == 2


def test_access_token_expiry_answers_token_expired(sandbox: SandboxServer) -> None:
    tokens = sandbox.connect(MANAGER)

    sandbox.state.advance_clock(3601)
    answer = sandbox.api_get("/api/me", tokens["access_token"])

    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "TOKEN_EXPIRED"


def test_revoking_a_refresh_token_revokes_its_family(sandbox: SandboxServer) -> None:
    tokens = sandbox.connect(MANAGER)

    with sandbox.client() as http:
        answer = http.post(
            "/oauth/revoke",
            data={"token": tokens["refresh_token"], "token_type_hint": "refresh_token"},
            auth=("relink-demo", "sbx-client-secret-4f1c9e2a7b"),
        )

    assert answer.status_code == 200
    assert sandbox.refresh(tokens["refresh_token"]).json()["error"] == "invalid_grant"
    assert sandbox.api_get("/api/me", tokens["access_token"]).status_code == 401


def test_revoking_an_access_token_keeps_the_refresh_token(sandbox: SandboxServer) -> None:
    tokens = sandbox.connect(MANAGER)

    with sandbox.client() as http:
        http.post(
            "/oauth/revoke",
            data={
                "token": tokens["access_token"],
                "token_type_hint": "access_token",
                "client_id": "relink-demo",
                "client_secret": "sbx-client-secret-4f1c9e2a7b",
            },
        )

    assert sandbox.api_get("/api/me", tokens["access_token"]).status_code == 401
    assert sandbox.refresh(tokens["refresh_token"]).status_code == 200


def test_revoking_an_unknown_token_answers_200(sandbox: SandboxServer) -> None:
    with sandbox.client() as http:
        answer = http.post(
            "/oauth/revoke",
            data={"token": "nothing-like-it"},
            auth=("relink-demo", "sbx-client-secret-4f1c9e2a7b"),
        )

    assert answer.status_code == 200
