"""The provider client against the sandbox over real HTTP: code + PKCE, refresh, revoke."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlsplit

import pytest

from relink.providers import oauth2
from relink.providers.api_auth import api_auth, key_auth
from relink.providers.catalog import load_catalog
from relink.providers.data_api import fetch_daily_metrics, list_accounts, verify_api_key
from relink.providers.http import HttpClient
from relink.providers.results import AppCredentials, ProviderFailure
from relink.providers.spec import ProviderSpec
from relink.providers.taxonomy import ErrorClass
from relink.sandbox import seed
from tests.fixtures.sandbox import TEST_REDIRECT_URI, SandboxServer

NOW = datetime.now(UTC)


@pytest.fixture
async def http() -> AsyncIterator[HttpClient]:
    client = HttpClient(timeout=5)
    yield client
    await client.close()


def _spec(sandbox: SandboxServer, key: str = "sandbox", **oauth_changes: object) -> ProviderSpec:
    spec = load_catalog(base_urls={"sandbox_url": sandbox.url}).get(key)
    if oauth_changes:
        assert spec.oauth is not None
        spec = spec.model_copy(update={"oauth": spec.oauth.model_copy(update=oauth_changes)})
    return spec


APP = AppCredentials(seed.CLIENT_ID, seed.CLIENT_SECRET, TEST_REDIRECT_URI)


async def _code(sandbox: SandboxServer, spec: ProviderSpec, verifier: str) -> str:
    url = oauth2.authorization_url(
        spec, app=APP, state="s-1", code_verifier=verifier, login_hint="manager@sandbox.test"
    )
    params = dict(parse_qsl(urlsplit(url).query))
    assert params["code_challenge_method"] == "S256" and params["login_hint"]
    answer = sandbox.submit_consent(params, email="manager@sandbox.test")
    return dict(parse_qsl(urlsplit(answer.headers["location"]).query))["code"]


@pytest.mark.parametrize("token_auth", ["client_secret_basic", "client_secret_post"])
async def test_code_with_pkce_then_identity_and_accounts(
    sandbox: SandboxServer, http: HttpClient, token_auth: str
) -> None:
    spec = _spec(sandbox, token_auth=token_auth)
    verifier = oauth2.new_code_verifier()
    code = await _code(sandbox, spec, verifier)

    tokens = await oauth2.exchange_code(
        http, spec, app=APP, code=code, code_verifier=verifier, now=NOW
    )
    who = await oauth2.identity(http, spec, tokens=tokens)
    accounts = await list_accounts(http, spec, auth=api_auth(spec, tokens.as_credentials()))

    assert tokens.refresh_token and tokens.expires_at is not None
    assert who.id == "sbx-user-1001" and who.email == "manager@sandbox.test"
    assert {a.id for a in accounts} >= {a.id for a in seed.MANAGER_SUB_ACCOUNTS}


async def test_a_code_exchanges_once(sandbox: SandboxServer, http: HttpClient) -> None:
    spec = _spec(sandbox)
    verifier = oauth2.new_code_verifier()
    code = await _code(sandbox, spec, verifier)
    await oauth2.exchange_code(http, spec, app=APP, code=code, code_verifier=verifier, now=NOW)

    with pytest.raises(ProviderFailure) as refused:
        await oauth2.exchange_code(http, spec, app=APP, code=code, code_verifier=verifier, now=NOW)

    assert refused.value.error_class in (ErrorClass.AUTH_REVOKED, ErrorClass.AUTH_EXPIRED)


async def test_refresh_rotates_the_refresh_token(sandbox: SandboxServer, http: HttpClient) -> None:
    spec = _spec(sandbox)
    demo_token = seed.IDENTITIES[0].demo_refresh_token or ""

    first = await oauth2.refresh(http, spec, app=APP, refresh_token=demo_token, now=NOW)
    second = await oauth2.refresh(
        http, spec, app=APP, refresh_token=first.refresh_token or "", now=NOW
    )

    assert first.refresh_token not in (None, demo_token)
    assert second.refresh_token not in (None, first.refresh_token)


async def test_revoking_the_refresh_token_ends_the_grant(
    sandbox: SandboxServer, http: HttpClient
) -> None:
    spec = _spec(sandbox)
    tokens = await oauth2.refresh(
        http, spec, app=APP, refresh_token=seed.IDENTITIES[0].demo_refresh_token or "", now=NOW
    )

    await oauth2.revoke(http, spec, app=APP, token=tokens.refresh_token or "", hint="refresh_token")

    with pytest.raises(ProviderFailure) as refused:
        await oauth2.refresh(http, spec, app=APP, refresh_token=tokens.refresh_token or "", now=NOW)
    assert refused.value.classification.disconnects


async def test_a_wrong_client_secret_is_our_misconfiguration(
    sandbox: SandboxServer, http: HttpClient
) -> None:
    spec = _spec(sandbox)
    wrong = AppCredentials(seed.CLIENT_ID, "not-the-secret", TEST_REDIRECT_URI)

    with pytest.raises(ProviderFailure) as refused:
        await oauth2.refresh(
            http,
            spec,
            app=wrong,
            refresh_token=seed.IDENTITIES[0].demo_refresh_token or "",
            now=NOW,
        )

    assert refused.value.error_class is ErrorClass.APP_MISCONFIGURED


async def test_an_api_key_is_verified_live_and_reads_metrics(
    sandbox: SandboxServer, http: HttpClient
) -> None:
    spec = _spec(sandbox, "sandbox_api")
    account = seed.API_KEY_ACCOUNTS[0]

    who = await verify_api_key(http, spec, key=account.demo_api_key)
    rows = await fetch_daily_metrics(
        http,
        spec,
        auth=key_auth(spec, account.demo_api_key),
        account_id=account.account.id,
        start=NOW.date(),
        end=NOW.date(),
    )

    assert who.id == account.account.id
    assert list(rows) == [NOW.date()] and rows[NOW.date()]["impressions"] > 0


async def test_a_lost_connection_is_transient_never_a_disconnect(http: HttpClient) -> None:
    spec = load_catalog(base_urls={"sandbox_url": "http://127.0.0.1:9"}).get("sandbox")

    with pytest.raises(ProviderFailure) as failed:
        await oauth2.refresh(http, spec, app=APP, refresh_token="x", now=NOW)

    assert failed.value.error_class is ErrorClass.PROVIDER_UNAVAILABLE
    assert not failed.value.answered


async def test_a_token_call_waits_for_an_answer_slower_than_a_data_call_may_take(
    sandbox: SandboxServer,
) -> None:
    spec = _spec(sandbox)
    # The provider takes 0.8 s for every call: too slow for a data call, fine for a token call.
    sandbox.add_fault("slow", delay=0.8)
    client = HttpClient(timeout=0.3, token_timeout=3.0)
    try:
        demo_token = seed.IDENTITIES[0].demo_refresh_token or ""
        tokens = await oauth2.refresh(client, spec, app=APP, refresh_token=demo_token, now=NOW)
        with pytest.raises(ProviderFailure) as lost:
            await oauth2.identity(client, spec, tokens=tokens)
    finally:
        await client.close()

    assert tokens.refresh_token and tokens.refresh_token != seed.IDENTITIES[0].demo_refresh_token
    assert not lost.value.answered


def test_a_token_timeout_is_never_shorter_than_the_data_timeout() -> None:
    assert HttpClient(timeout=10, token_timeout=1).token_timeout_seconds == 10
