"""The provider catalog: every shipped entry validates on load and says what its provider does."""

from __future__ import annotations

import pytest

from relink.providers.catalog import UnknownProvider, load_catalog
from relink.providers.spec_fields import fill_url
from relink.providers.taxonomy import AuthKind
from relink.sandbox import seed
from tests.providers.catalog_files import (
    EXPECTED_KEYS,
)


def test_the_catalog_holds_every_provider_the_design_names() -> None:
    assert load_catalog().keys() == EXPECTED_KEYS


@pytest.mark.parametrize("key", EXPECTED_KEYS)
def test_every_entry_loads_and_its_auth_section_matches_its_kind(key: str) -> None:
    spec = load_catalog().get(key)

    section = {AuthKind.OAUTH2: spec.oauth, AuthKind.API_KEY: spec.api_key}[spec.auth]
    assert spec.key == key
    assert section is not None
    assert spec.display_name


@pytest.mark.parametrize("key", EXPECTED_KEYS)
def test_every_entry_maps_at_least_one_error_shape(key: str) -> None:
    assert load_catalog().get(key).errors.rules


def test_sandbox_urls_follow_the_given_base_url() -> None:
    catalog = load_catalog(base_urls={"sandbox_url": "http://127.0.0.1:18555/"})

    sandbox = catalog.get("sandbox")
    assert sandbox.oauth is not None
    assert sandbox.oauth.authorize_url == "http://127.0.0.1:18555/oauth/authorize"
    assert sandbox.oauth.token_url == "http://127.0.0.1:18555/oauth/token"
    assert sandbox.oauth.revoke_url == "http://127.0.0.1:18555/oauth/revoke"
    assert sandbox.oauth.identity_url == "http://127.0.0.1:18555/api/me"
    api = catalog.get("sandbox_api")
    assert api.api_key is not None
    assert api.api_key.verify_url == "http://127.0.0.1:18555/api/key/verify"


def test_sandbox_metrics_url_keeps_its_call_time_placeholders() -> None:
    metrics = load_catalog().get("sandbox").metrics
    assert metrics is not None

    url = fill_url(
        metrics.url, {"account_id": "cust-1", "start": "2024-05-01", "end": "2024-05-31"}
    )

    assert (
        url == "http://127.0.0.1:8001/api/accounts/cust-1/metrics?start=2024-05-01&end=2024-05-31"
    )


def test_sandbox_oauth_entry_agrees_with_the_sandbox_seed() -> None:
    oauth = load_catalog().get("sandbox").oauth
    assert oauth is not None

    assert oauth.scopes == seed.SCOPES
    assert oauth.token_auth == "client_secret_basic"
    assert oauth.pkce and oauth.login_hint and oauth.rotates_refresh_tokens


def test_sandbox_api_key_format_is_the_seed_format_and_accepts_the_demo_keys() -> None:
    api_key = load_catalog().get("sandbox_api").api_key
    assert api_key is not None

    assert api_key.key_pattern == seed.API_KEY_PATTERN
    assert all(api_key.matches(account.demo_api_key) for account in seed.API_KEY_ACCOUNTS)
    assert not api_key.matches("SBX_LIVE_" + "a" * 32)


def test_sandbox_api_sends_the_key_as_a_bearer_header() -> None:
    api_key = load_catalog().get("sandbox_api").api_key
    assert api_key is not None

    assert (api_key.send.via, getattr(api_key.send, "prefix", None)) == ("header", "Bearer ")


def test_mailchimp_key_carries_its_data_centre_into_the_urls() -> None:
    api_key = load_catalog().get("mailchimp").api_key
    assert api_key is not None

    params = api_key.url_params("0123456789abcdef0123456789abcdef-us21")

    assert fill_url(api_key.verify_url, params) == "https://us21.api.mailchimp.com/3.0/ping"


def test_google_entries_warn_of_the_testing_mode_seven_day_expiry() -> None:
    for key in ("google_ads", "google_analytics", "google_search_console"):
        warnings = load_catalog().get(key).expiry_warnings
        assert any(w.days == 7 and w.when == "app_in_testing" for w in warnings), key


def test_microsoft_entry_warns_of_ninety_days_of_inactivity() -> None:
    warnings = load_catalog().get("microsoft_ads").expiry_warnings
    assert [(w.clock, w.days) for w in warnings] == [("since_last_use", 90)]


def test_fill_url_names_a_missing_placeholder() -> None:
    with pytest.raises(ValueError, match="account_id"):
        fill_url("https://x.test/{account_id}/{start}", {"start": "2024-01-01"})


def test_fill_url_quotes_values() -> None:
    assert fill_url("https://x.test/sites/{site}", {"site": "sc-domain:a b"}) == (
        "https://x.test/sites/sc-domain%3Aa%20b"
    )


def test_unknown_provider_key_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(UnknownProvider, match=r"unknown provider 'tiktok'.*google_ads"):
        load_catalog().get("tiktok")
