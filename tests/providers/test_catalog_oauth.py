"""OAuth entries: PKCE S256 unless a cited source says it breaks; refresh token reuse grace."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
import yaml

from relink.providers.catalog import CATALOG_DIR, CatalogError, load_catalog
from relink.providers.oauth2 import authorization_url, new_code_verifier
from relink.providers.results import AppCredentials
from relink.providers.spec import DEFAULT_REFRESH_TOKEN_REUSE_GRACE_SECONDS
from relink.providers.taxonomy import AuthKind
from relink.sandbox.state import DEFAULT_REFRESH_REUSE_GRACE_SECONDS
from tests.providers.catalog_files import (
    EXPECTED_KEYS,
    copy_entry,
    save,
)

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
