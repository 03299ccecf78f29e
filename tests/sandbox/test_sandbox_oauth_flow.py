"""The authorization code flow with PKCE, as Relink runs it against the sandbox."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from relink.sandbox.seed import CLIENT_ID
from tests.fixtures.sandbox import Pkce, SandboxServer

MANAGER = "manager@sandbox.test"


def _redirect_query(answer_location: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(answer_location).query)


def test_metadata_announces_endpoints_and_s256_only(sandbox: SandboxServer) -> None:
    with sandbox.client() as http:
        meta = http.get("/.well-known/oauth-authorization-server").json()

    assert meta["issuer"] == sandbox.url
    assert meta["token_endpoint"] == sandbox.url + "/oauth/token"
    assert meta["authorization_endpoint"] == sandbox.url + "/oauth/authorize"
    assert meta["revocation_endpoint"] == sandbox.url + "/oauth/revoke"
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert set(meta["grant_types_supported"]) == {"authorization_code", "refresh_token"}
    assert set(meta["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic",
        "client_secret_post",
    }
    assert meta["scopes_supported"] == ["ads.read", "ads.manage"]


def test_consent_page_shows_scopes_and_prefills_login_hint(sandbox: SandboxServer) -> None:
    params = sandbox.authorization_params(Pkce.new(), login_hint=MANAGER)

    with sandbox.client() as http:
        page = http.get("/oauth/authorize", params=params)

    assert page.status_code == 200
    assert 'name="email"' in page.text and f'value="{MANAGER}"' in page.text
    assert 'name="password"' in page.text
    assert 'name="decision" value="allow"' in page.text
    assert 'name="decision" value="deny"' in page.text
    assert "ads.read" in page.text and "ads.manage" in page.text


def test_full_code_flow_with_pkce_issues_tokens_for_the_signed_in_identity(
    sandbox: SandboxServer,
) -> None:
    pkce = Pkce.new()
    code = sandbox.get_code(MANAGER, pkce)

    answer = sandbox.exchange_code(code, pkce.verifier)

    assert answer.status_code == 200, answer.text
    tokens = answer.json()
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 3600
    assert tokens["refresh_token"] and tokens["access_token"]
    me = sandbox.api_get("/api/me", tokens["access_token"]).json()
    assert me == {"id": "sbx-user-1001", "email": MANAGER, "name": "Morgan Manager"}


def test_client_secret_post_authenticates_at_the_token_endpoint(sandbox: SandboxServer) -> None:
    pkce = Pkce.new()
    code = sandbox.get_code(MANAGER, pkce)

    answer = sandbox.exchange_code(code, pkce.verifier, auth="post")

    assert answer.status_code == 200, answer.text


def test_wrong_client_secret_is_invalid_client_401(sandbox: SandboxServer) -> None:
    with sandbox.client() as http:
        answer = http.post(
            "/oauth/token",
            data={"grant_type": "refresh_token", "refresh_token": "x"},
            auth=(CLIENT_ID, "wrong"),
        )

    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"


def test_deny_redirects_back_with_access_denied_and_state(sandbox: SandboxServer) -> None:
    params = sandbox.authorization_params(Pkce.new())

    answer = sandbox.submit_consent(params, email=MANAGER, decision="deny")

    assert answer.status_code == 302
    query = _redirect_query(answer.headers["location"])
    assert query["error"] == ["access_denied"]
    assert query["state"] == [params["state"]]
    assert answer.headers["location"].startswith(sandbox.redirect_uri)


def test_wrong_password_shows_the_form_again_without_a_redirect(sandbox: SandboxServer) -> None:
    params = sandbox.authorization_params(Pkce.new())

    answer = sandbox.submit_consent(params, email=MANAGER, password="nope")

    assert answer.status_code == 401
    assert "Wrong e-mail or password." in answer.text
    assert "location" not in answer.headers


def test_authorization_without_code_challenge_is_refused(sandbox: SandboxServer) -> None:
    params = sandbox.authorization_params(Pkce.new(), code_challenge="", code_challenge_method="")

    answer = sandbox.submit_consent(params, email=MANAGER)

    assert answer.status_code == 302
    assert _redirect_query(answer.headers["location"])["error"] == ["invalid_request"]


def test_plain_code_challenge_method_is_refused(sandbox: SandboxServer) -> None:
    pkce = Pkce.new()
    params = sandbox.authorization_params(
        pkce, code_challenge=pkce.verifier, code_challenge_method="plain"
    )

    answer = sandbox.submit_consent(params, email=MANAGER)

    assert answer.status_code == 302
    assert _redirect_query(answer.headers["location"])["error"] == ["invalid_request"]


def test_code_exchange_without_verifier_is_refused(sandbox: SandboxServer) -> None:
    code = sandbox.get_code(MANAGER, Pkce.new())

    answer = sandbox.exchange_code(code, None)

    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_request"


def test_code_exchange_with_wrong_verifier_is_invalid_grant(sandbox: SandboxServer) -> None:
    code = sandbox.get_code(MANAGER, Pkce.new())

    answer = sandbox.exchange_code(code, Pkce.new().verifier)

    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"


def test_unregistered_redirect_uri_gets_an_error_page_not_a_redirect(
    sandbox: SandboxServer,
) -> None:
    params = sandbox.authorization_params(Pkce.new(), redirect_uri="http://127.0.0.1:8000/evil")

    with sandbox.client() as http:
        answer = http.get("/oauth/authorize", params=params)

    assert answer.status_code == 400
    assert "location" not in answer.headers


def test_redirect_uri_must_match_exactly_not_by_prefix(sandbox: SandboxServer) -> None:
    params = sandbox.authorization_params(
        Pkce.new(), redirect_uri=sandbox.redirect_uri + "/../other"
    )

    answer = sandbox.submit_consent(params, email=MANAGER)

    assert answer.status_code == 400
    assert "location" not in answer.headers


def test_code_is_single_use_and_a_replay_revokes_what_it_issued(sandbox: SandboxServer) -> None:
    pkce = Pkce.new()
    code = sandbox.get_code(MANAGER, pkce)
    tokens = sandbox.exchange_code(code, pkce.verifier).json()

    replay = sandbox.exchange_code(code, pkce.verifier)

    assert replay.json()["error"] == "invalid_grant"
    assert sandbox.api_get("/api/me", tokens["access_token"]).status_code == 401
