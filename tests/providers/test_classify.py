"""The classifier, on error payloads shaped as each provider documents them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from structlog.testing import capture_logs

from relink.providers.catalog import load_catalog
from relink.providers.classify import Body, Phase, classify, retry_after_seconds
from relink.providers.json_path import compile_path, resolve
from relink.providers.spec import ProviderSpec
from relink.providers.taxonomy import TRANSIENT, ErrorClass
from tests.providers.documented_cases import CASES
from tests.providers.error_shapes import (
    REVOKED_GOOGLE,
    google_ads,
    meta,
    rfc6749,
    sandbox,
)

CATALOG = load_catalog()
E = ErrorClass
PHASES: tuple[Phase, ...] = ("token", "api")


@pytest.mark.parametrize("status", [500, 502, 503, 504])
@pytest.mark.parametrize("spec", [s for s in CATALOG if s.oauth], ids=lambda s: s.key)
def test_a_5xx_at_the_token_endpoint_is_never_auth(spec: ProviderSpec, status: int) -> None:
    # A refresh whose answer was lost may have rotated the token: only a 4xx may end the grant.
    result = classify(spec, status=status, body=REVOKED_GOOGLE, headers=None, phase="token")

    assert result.error_class is E.PROVIDER_UNAVAILABLE


@pytest.mark.parametrize("spec", list(CATALOG), ids=CATALOG.keys())
def test_no_answer_at_all_is_provider_unavailable(spec: ProviderSpec) -> None:
    for phase in PHASES:
        result = classify(spec, status=None, body=None, headers=None, phase=phase)
        assert result.error_class is E.PROVIDER_UNAVAILABLE


def test_an_auth_body_with_a_5xx_status_stays_transient() -> None:
    result = classify(
        CATALOG.get("meta_ads"), status=500, body=meta(190, 460), headers=None, phase="api"
    )

    assert result.error_class is E.PROVIDER_UNAVAILABLE
    assert not result.disconnects


def test_an_unknown_shape_is_provider_unavailable_and_logged_without_secrets() -> None:
    body = {"weird": True, "access_token": "ya29.a0AfH6SMBxSECRETSECRETSECRET", "note": "x" * 500}

    with capture_logs() as logs:
        result = classify(CATALOG.get("hubspot"), status=418, body=body, headers=None, phase="api")

    assert result.error_class is E.PROVIDER_UNAVAILABLE
    [entry] = [e for e in logs if e["event"] == "provider.error.unclassified"]
    assert (entry["provider"], entry["status"]) == ("hubspot", 418)
    assert "ya29" not in entry["body"] and "SECRET" not in entry["body"]
    assert len(entry["body"]) <= 200


def test_token_like_strings_in_a_text_body_are_not_logged() -> None:
    body = "oops sbx_live_demo01A1b2C3d4E5f6G7h8J9k0L1m2 trace 3b4dcb40-0b6b-4820-bfaa-41267b3826ea"

    with capture_logs() as logs:
        classify(CATALOG.get("sandbox_api"), status=409, body=body, headers=None, phase="api")

    logged = logs[0]["body"]
    assert "sbx_live" not in logged
    assert "3b4dcb40-0b6b-4820-bfaa-41267b3826ea" in logged


def test_a_body_reads_the_same_as_bytes_text_or_parsed_json() -> None:
    spec = CATALOG.get("meta_ads")
    forms: list[Body] = [
        meta(190, 460),
        json.dumps(meta(190, 460)),
        json.dumps(meta(190, 460)).encode(),
    ]

    results = {classify(spec, status=400, body=f, headers=None, phase="api") for f in forms}

    assert len(results) == 1


def test_an_oauth_api_401_of_unknown_shape_means_refresh_first() -> None:
    result = classify(CATALOG.get("linkedin_ads"), status=401, body="", headers=None, phase="api")

    assert result.error_class is E.ACCESS_TOKEN_EXPIRED


def test_an_oauth_api_403_of_unknown_shape_does_not_disconnect() -> None:
    result = classify(CATALOG.get("hubspot"), status=403, body={"x": 1}, headers=None, phase="api")

    assert result.error_class is E.PROVIDER_UNAVAILABLE


def test_rfc6749_invalid_grant_is_understood_for_any_oauth_provider() -> None:
    body = rfc6749("invalid_grant")
    result = classify(CATALOG.get("hubspot"), status=400, body=body, headers=None, phase="token")

    assert result.error_class is E.AUTH_REVOKED


def test_a_request_timeout_status_is_provider_unavailable() -> None:
    result = classify(CATALOG.get("stripe"), status=408, body="", headers=None, phase="api")

    assert result.error_class is E.PROVIDER_UNAVAILABLE


def test_rate_limited_carries_the_retry_after_seconds() -> None:
    headers = {"Retry-After": "30"}
    result = classify(
        CATALOG.get("sandbox"),
        status=429,
        body=sandbox("RATE_LIMITED"),
        headers=headers,
        phase="api",
    )

    assert (result.error_class, result.retry_after) == (E.RATE_LIMITED, 30.0)


NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"Retry-After": "120"}, 120.0),
        ({"retry-after": " 7 "}, 7.0),
        ({"Retry-After": "Wed, 01 May 2024 12:01:30 GMT"}, 90.0),
        ({"Retry-After": "Wed, 01 May 2024 11:00:00 GMT"}, 0.0),
        ({"Retry-After": "9999999"}, 86400.0),
        ({"Retry-After": "soon"}, None),
        ({"Content-Type": "application/json"}, None),
        (None, None),
    ],
    ids=[
        "seconds",
        "lower-case-name",
        "http-date",
        "past-date",
        "capped",
        "garbage",
        "absent",
        "none",
    ],
)
def test_retry_after_is_read_as_seconds_or_http_date(
    headers: dict[str, str] | None, seconds: float | None
) -> None:
    assert retry_after_seconds(headers, now=NOW) == seconds


def test_json_path_wildcards_reach_every_nested_value() -> None:
    document = google_ads(401, "UNAUTHENTICATED", "authenticationError", "OAUTH_TOKEN_REVOKED")

    assert resolve(document, "error.details[*].errors[*].errorCode.*") == ["OAUTH_TOKEN_REVOKED"]
    assert resolve(document, "error.details[0].requestId") == ["cWk9VqJp0sTq3nQk"]
    assert resolve(document, "$") == [document]
    assert resolve(document, "error.nothing[*].here") == []


@pytest.mark.parametrize("path", ["", "error..code", "error.[*]", "a[x]", " error"])
def test_a_malformed_json_path_is_refused(path: str) -> None:
    with pytest.raises(ValueError, match="invalid JSON path"):
        compile_path(path)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=25,
)
ERROR_LIKE = st.one_of(
    st.fixed_dictionaries(
        {
            "error": st.sampled_from(["invalid_grant", "invalid_client", "interaction_required"]),
            "error_codes": st.lists(st.sampled_from([70008, 700082, 50173]), max_size=2),
        }
    ),
    st.fixed_dictionaries(
        {
            "error": st.fixed_dictionaries(
                {"code": st.integers(-5, 80020), "error_subcode": st.integers(0, 500)}
            )
        }
    ),
    st.sampled_from([case.body for case in CASES]),
)


@settings(max_examples=400)
@given(
    spec=st.sampled_from(list(CATALOG)),
    status=st.none() | st.integers(500, 599),
    body=st.one_of(
        JSON,
        ERROR_LIKE,
        ERROR_LIKE.map(json.dumps),
        ERROR_LIKE.map(lambda b: json.dumps(b).encode()),
    ),
    phase=st.sampled_from(PHASES),
)
def test_a_5xx_or_no_answer_never_yields_a_disconnecting_class(
    spec: ProviderSpec, status: int | None, body: Any, phase: Phase
) -> None:
    result = classify(spec, status=status, body=body, headers=None, phase=phase)

    assert result.error_class in TRANSIENT
    assert not result.disconnects
