"""The classifier on every error shape a catalog entry documents, one row per shape."""

from __future__ import annotations

import pytest

from relink.providers.catalog import load_catalog
from relink.providers.classify import Classification, classify
from relink.providers.spec import ProviderSpec
from relink.providers.taxonomy import ErrorClass
from tests.providers.documented_cases import CASES
from tests.providers.error_shapes import REVOKED_GOOGLE, Case, meta

CATALOG = load_catalog()
E = ErrorClass


def run(case: Case) -> Classification:
    spec = CATALOG.get(case.provider)
    return classify(spec, status=case.status, body=case.body, headers={}, phase=case.phase)


@pytest.mark.parametrize("case", CASES, ids=[f"{c.provider}-{c.name}->{c.expected}" for c in CASES])
def test_documented_error_shape_maps_to_its_class(case: Case) -> None:
    assert run(case).error_class is case.expected


@pytest.mark.parametrize("spec", list(CATALOG), ids=CATALOG.keys())
def test_every_class_an_entry_can_produce_is_tested_on_a_documented_shape(
    spec: ProviderSpec,
) -> None:
    producible = {rule.error_class for rule in spec.errors.rules} | {E.PROVIDER_UNAVAILABLE}
    tested = {case.expected for case in CASES if case.provider == spec.key}
    assert producible <= tested, producible - tested


def test_meta_code_190_subcode_460_is_auth_revoked() -> None:
    result = classify(
        CATALOG.get("meta_ads"), status=400, body=meta(190, 460), headers=None, phase="api"
    )

    assert result.error_class is E.AUTH_REVOKED
    assert result.provider_code == "190/460"


def test_meta_checkpoint_hint_sends_the_person_to_facebook() -> None:
    result = classify(
        CATALOG.get("meta_ads"), status=400, body=meta(190, 459), headers=None, phase="api"
    )

    assert "facebook.com" in result.hint


def test_google_invalid_grant_hint_names_the_testing_mode_week() -> None:
    spec = CATALOG.get("google_ads")
    result = classify(spec, status=400, body=REVOKED_GOOGLE, headers=None, phase="token")

    assert result.disconnects
    assert "7 days" in result.hint
    assert result.detail == "Token has been expired or revoked."
