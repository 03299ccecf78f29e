"""The provider catalog: every entry validates on load; a broken one is refused by name."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
import yaml

from relink.providers.catalog import CATALOG_DIR, CatalogError, UnknownProvider, load_catalog
from relink.providers.oauth2 import authorization_url, new_code_verifier
from relink.providers.results import AppCredentials
from relink.providers.spec import DEFAULT_REFRESH_TOKEN_REUSE_GRACE_SECONDS
from relink.providers.spec_fields import fill_url
from relink.providers.taxonomy import AuthKind
from relink.sandbox import seed
from relink.sandbox.state import DEFAULT_REFRESH_REUSE_GRACE_SECONDS

EXPECTED_KEYS = [
    "callrail",
    "google_ads",
    "google_analytics",
    "google_search_console",
    "hubspot",
    "linkedin_ads",
    "mailchimp",
    "meta_ads",
    "microsoft_ads",
    "sandbox",
    "sandbox_api",
    "semrush",
    "stripe",
]


def write_entry(folder: Path, name: str, text: str) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def copy_entry(folder: Path, key: str) -> dict[str, object]:
    """Copy one shipped entry into `folder` and return its parsed content for editing."""
    shutil.copy(CATALOG_DIR / f"{key}.yaml", folder / f"{key}.yaml")
    loaded = yaml.safe_load((folder / f"{key}.yaml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def save(folder: Path, key: str, content: dict[str, object]) -> None:
    (folder / f"{key}.yaml").write_text(yaml.safe_dump(content), encoding="utf-8")


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


def test_a_missing_field_is_refused_naming_file_and_field(tmp_path: Path) -> None:
    content = copy_entry(tmp_path, "meta_ads")
    oauth = content["oauth"]
    assert isinstance(oauth, dict)
    del oauth["token_url"]
    save(tmp_path, "meta_ads", content)

    with pytest.raises(CatalogError) as refused:
        load_catalog(tmp_path)

    assert "meta_ads.yaml: oauth.token_url: Field required" in str(refused.value)


def test_a_misspelt_field_is_refused_naming_file_and_field(tmp_path: Path) -> None:
    content = copy_entry(tmp_path, "sandbox")
    oauth = content["oauth"]
    assert isinstance(oauth, dict)
    oauth["login_hnit"] = True
    save(tmp_path, "sandbox", content)

    with pytest.raises(CatalogError, match=r"sandbox\.yaml: oauth\.login_hnit: Extra inputs"):
        load_catalog(tmp_path)


def test_a_bad_error_class_is_refused_naming_the_rule(tmp_path: Path) -> None:
    content = copy_entry(tmp_path, "hubspot")
    errors = content["errors"]
    assert isinstance(errors, dict)
    errors["rules"][0]["error_class"] = "auth_gone"
    save(tmp_path, "hubspot", content)

    with pytest.raises(CatalogError, match=r"hubspot\.yaml: errors\.rules\.0\.error_class"):
        load_catalog(tmp_path)


def test_an_api_key_entry_without_its_section_is_refused(tmp_path: Path) -> None:
    content = copy_entry(tmp_path, "stripe")
    del content["api_key"]
    save(tmp_path, "stripe", content)

    with pytest.raises(CatalogError, match=r"stripe\.yaml: api_key: required when auth is api_key"):
        load_catalog(tmp_path)


def test_a_section_of_another_auth_kind_is_refused(tmp_path: Path) -> None:
    content = copy_entry(tmp_path, "stripe")
    content["oauth"] = yaml.safe_load((CATALOG_DIR / "hubspot.yaml").read_text())["oauth"]
    save(tmp_path, "stripe", content)

    with pytest.raises(
        CatalogError, match=r"stripe\.yaml: oauth: not allowed when auth is api_key"
    ):
        load_catalog(tmp_path)


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({"error_class": "rate_limited", "hint": "h"}, "at least one of status, json"),
        ({"status": "6xx", "error_class": "rate_limited", "hint": "h"}, "errors.rules.0.status"),
        ({"json": {"error..code": 1}, "error_class": "rate_limited", "hint": "h"}, "invalid JSON"),
    ],
    ids=["rule-without-condition", "bad-status", "bad-json-path"],
)
def test_a_malformed_error_rule_is_refused(
    tmp_path: Path, rule: dict[str, object], field: str
) -> None:
    content = copy_entry(tmp_path, "callrail")
    content["errors"] = {"rules": [rule]}
    save(tmp_path, "callrail", content)

    with pytest.raises(CatalogError, match=re.escape(field)):
        load_catalog(tmp_path)


def test_an_invalid_key_pattern_is_refused(tmp_path: Path) -> None:
    content = copy_entry(tmp_path, "semrush")
    api_key = content["api_key"]
    assert isinstance(api_key, dict)
    api_key["key_pattern"] = "^[0-9a-f{32}$"
    save(tmp_path, "semrush", content)

    with pytest.raises(CatalogError, match=r"semrush\.yaml: api_key\.key_pattern: .*regular"):
        load_catalog(tmp_path)


def test_an_unfilled_url_placeholder_is_refused(tmp_path: Path) -> None:
    content = copy_entry(tmp_path, "sandbox")
    oauth = content["oauth"]
    assert isinstance(oauth, dict)
    oauth["token_url"] = "{staging_url}/oauth/token"
    save(tmp_path, "sandbox", content)

    with pytest.raises(CatalogError, match=r"sandbox\.yaml: oauth\.token_url: must be an absolute"):
        load_catalog(tmp_path)


def test_an_entry_whose_key_differs_from_its_file_name_is_refused(tmp_path: Path) -> None:
    content = copy_entry(tmp_path, "callrail")
    content["key"] = "call_rail"
    save(tmp_path, "callrail", content)

    with pytest.raises(CatalogError, match=r"callrail\.yaml: key: must equal the file name"):
        load_catalog(tmp_path)


def test_a_file_that_is_not_yaml_is_refused_naming_it(tmp_path: Path) -> None:
    write_entry(tmp_path, "broken", "key: [unclosed\n")

    with pytest.raises(CatalogError, match=r"broken\.yaml: cannot read YAML"):
        load_catalog(tmp_path)


def test_an_empty_catalog_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="no provider files"):
        load_catalog(tmp_path)


OAUTH_KEYS = [key for key in EXPECTED_KEYS if load_catalog().get(key).auth is AuthKind.OAUTH2]
APP = AppCredentials("client-id", "client-secret", "https://relink.example/oauth/callback")


@pytest.mark.parametrize("key", OAUTH_KEYS)
def test_every_oauth_provider_sends_pkce_s256(key: str) -> None:
    spec = load_catalog().get(key)

    url = authorization_url(spec, app=APP, state="st", code_verifier=new_code_verifier())

    query = dict(parse_qsl(urlsplit(url).query))
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43


def test_pkce_is_on_unless_an_entry_opts_out() -> None:
    oauth = yaml.safe_load((CATALOG_DIR / "linkedin_ads.yaml").read_text())["oauth"]
    assert "pkce" not in oauth
    spec = load_catalog().get("linkedin_ads")
    assert spec.oauth is not None and spec.oauth.pkce


def test_opting_out_of_pkce_without_the_providers_word_is_refused(tmp_path: Path) -> None:
    content = copy_entry(tmp_path, "hubspot")
    oauth = content["oauth"]
    assert isinstance(oauth, dict)
    oauth["pkce"] = False
    save(tmp_path, "hubspot", content)

    with pytest.raises(CatalogError, match=r"hubspot\.yaml: oauth: .*pkce_unsupported_source"):
        load_catalog(tmp_path)


def test_an_entry_opting_out_of_pkce_with_its_source_sends_no_challenge(tmp_path: Path) -> None:
    content = copy_entry(tmp_path, "hubspot")
    oauth = content["oauth"]
    assert isinstance(oauth, dict)
    oauth["pkce"] = False
    oauth["pkce_unsupported_source"] = "https://provider.example/docs/oauth#pkce"
    save(tmp_path, "hubspot", content)

    spec = load_catalog(tmp_path).get("hubspot")

    url = authorization_url(spec, app=APP, state="st", code_verifier=new_code_verifier())
    assert "code_challenge" not in dict(parse_qsl(urlsplit(url).query))


def test_a_pkce_source_is_a_url(tmp_path: Path) -> None:
    content = copy_entry(tmp_path, "hubspot")
    oauth = content["oauth"]
    assert isinstance(oauth, dict)
    oauth["pkce"] = False
    oauth["pkce_unsupported_source"] = "someone said so"
    save(tmp_path, "hubspot", content)

    with pytest.raises(CatalogError, match=r"pkce_unsupported_source: .*documentation's URL"):
        load_catalog(tmp_path)


def test_a_documented_refresh_token_reuse_grace_needs_its_source(tmp_path: Path) -> None:
    content = copy_entry(tmp_path, "microsoft_ads")
    oauth = content["oauth"]
    assert isinstance(oauth, dict)
    del oauth["refresh_token_reuse_grace_source"]
    save(tmp_path, "microsoft_ads", content)

    with pytest.raises(CatalogError, match=r"refresh_token_reuse_grace_seconds: needs"):
        load_catalog(tmp_path)


def test_an_undocumented_reuse_grace_is_the_conservative_default() -> None:
    oauth = load_catalog().get("hubspot").oauth
    assert oauth is not None

    assert oauth.refresh_token_reuse_grace_seconds == DEFAULT_REFRESH_TOKEN_REUSE_GRACE_SECONDS
    assert DEFAULT_REFRESH_TOKEN_REUSE_GRACE_SECONDS <= DEFAULT_REFRESH_REUSE_GRACE_SECONDS


def test_the_sandbox_entry_records_the_sandbox_reuse_grace() -> None:
    oauth = load_catalog().get("sandbox").oauth
    assert oauth is not None

    assert oauth.refresh_token_reuse_grace_seconds == DEFAULT_REFRESH_REUSE_GRACE_SECONDS
