"""A broken catalog entry is refused at load, naming the file and the field."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from relink.providers.catalog import CATALOG_DIR, CatalogError, load_catalog
from tests.providers.catalog_files import (
    copy_entry,
    save,
    write_entry,
)


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
