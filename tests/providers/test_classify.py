"""The classifier, on error payloads shaped as each provider documents them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, NamedTuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from structlog.testing import capture_logs

from relink.providers.catalog import load_catalog
from relink.providers.classify import Body, Classification, Phase, classify, retry_after_seconds
from relink.providers.json_path import compile_path, resolve
from relink.providers.spec import ProviderSpec
from relink.providers.taxonomy import TRANSIENT, ErrorClass

CATALOG = load_catalog()
E = ErrorClass
PHASES: tuple[Phase, ...] = ("token", "api")


class Case(NamedTuple):
    provider: str
    phase: Phase
    status: int
    body: Any
    expected: ErrorClass
    name: str


def rfc6749(error: str, description: str = "", **extra: Any) -> dict[str, Any]:
    return {"error": error, "error_description": description, **extra}


def google(code: int, status: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": "Request failed.", "status": status, **extra}}


def google_ads(code: int, status: str, kind: str, value: str) -> dict[str, Any]:
    failure = {
        "@type": "type.googleapis.com/google.ads.googleads.v21.errors.GoogleAdsFailure",
        "errors": [{"errorCode": {kind: value}, "message": f"{value} happened."}],
        "requestId": "cWk9VqJp0sTq3nQk",
    }
    return google(code, status, details=[failure])


def meta(code: int, subcode: int | None = None, message: str = "Error.") -> dict[str, Any]:
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    return {"error": {**error, "fbtrace_id": "EJplcsCHuLu"}}


def sandbox(code: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": f"{code.lower()} in the sandbox"}}


def linkedin(status: int, service_code: int, message: str) -> dict[str, Any]:
    return {"message": message, "serviceErrorCode": service_code, "status": status}


def bing(code: int, error_code: str) -> dict[str, Any]:
    return {
        "TrackingId": "1c2ac59d",
        "Errors": [{"Code": code, "ErrorCode": error_code, "Message": f"{error_code}."}],
    }


def hubspot(category: str, message: str = "Error.") -> dict[str, Any]:
    return {"status": "error", "message": message, "correlationId": "a1b2", "category": category}


def mailchimp(status: int, title: str) -> dict[str, Any]:
    return {
        "type": "https://mailchimp.com/developer/marketing/docs/errors/",
        "title": title,
        "status": status,
        "detail": f"{title}.",
        "instance": "3b4dcb40",
    }


def stripe(kind: str, code: str | None = None) -> dict[str, Any]:
    return {"error": {"type": kind, "code": code, "message": f"{kind}."}}


def ads(kind: str, value: str) -> dict[str, Any]:
    """A Google Ads failure with the HTTP status Google sends for that kind of error."""
    code, status = {
        "authenticationError": (401, "UNAUTHENTICATED"),
        "authorizationError": (403, "PERMISSION_DENIED"),
        "quotaError": (429, "RESOURCE_EXHAUSTED"),
        "queryError": (400, "INVALID_ARGUMENT"),
        "internalError": (500, "INTERNAL"),
    }[kind]
    return google_ads(code, status, kind, value)


def rows(provider: str, *table: tuple[Phase, int, Any, ErrorClass, str]) -> list[Case]:
    return [Case(provider, *row) for row in table]


REVOKED_GOOGLE = rfc6749("invalid_grant", "Token has been expired or revoked.")
LINKEDIN_REFRESH_DEAD = rfc6749(
    "invalid_request",
    "The provided authorization grant or refresh token is invalid, expired or revoked",
)
AADSTS700082 = rfc6749(
    "invalid_grant",
    "AADSTS700082: The refresh token has expired due to inactivity.",
    error_codes=[700082],
)
AADSTS50079 = rfc6749("interaction_required", "AADSTS50079: MFA needed", error_codes=[50079])
AADSTS50173 = rfc6749("invalid_grant", "AADSTS50173: grant revoked", error_codes=[50173])
AADSTS65001 = rfc6749("invalid_grant", "AADSTS65001: not consented", error_codes=[65001])
AADSTS7000215 = rfc6749("invalid_client", "AADSTS7000215: bad secret", error_codes=[7000215])
HUBSPOT_DEAD_REFRESH = {
    "status": "BAD_REFRESH_TOKEN",
    "message": "missing or invalid refresh token",
}
HUBSPOT_BAD_CLIENT = {"status": "BAD_CLIENT_ID", "message": "missing or unknown client id"}
GA_API_DISABLED = google(
    403,
    "PERMISSION_DENIED",
    details=[{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "SERVICE_DISABLED"}],
)


def gsc(reason: str) -> dict[str, Any]:
    return google(403, "PERMISSION_DENIED", errors=[{"reason": reason, "domain": "usageLimits"}])


CASES = [
    # The sandbox, as sandbox.yaml documents it.
    *rows(
        "sandbox",
        (
            "token",
            400,
            rfc6749("invalid_grant", "refresh token revoked"),
            E.AUTH_REVOKED,
            "revoked",
        ),
        (
            "token",
            400,
            rfc6749("invalid_grant", "refresh token expired"),
            E.AUTH_EXPIRED,
            "expired",
        ),
        ("token", 401, rfc6749("invalid_client"), E.APP_MISCONFIGURED, "invalid-client"),
        ("token", 400, rfc6749("unauthorized_client"), E.APP_MISCONFIGURED, "unauthorized-client"),
        ("api", 403, sandbox("PERMISSION_DENIED"), E.PERMISSION_DENIED, "permission"),
        ("api", 404, sandbox("ACCOUNT_NOT_FOUND"), E.ACCOUNT_NOT_FOUND, "account"),
        ("api", 401, sandbox("UNAUTHENTICATED"), E.ACCESS_TOKEN_EXPIRED, "unauthenticated"),
        ("api", 401, sandbox("TOKEN_EXPIRED"), E.ACCESS_TOKEN_EXPIRED, "token-expired"),
        ("api", 429, sandbox("RATE_LIMITED"), E.RATE_LIMITED, "rate"),
        ("api", 500, sandbox("INTERNAL"), E.PROVIDER_UNAVAILABLE, "internal"),
        ("api", 400, {"rows": "not-a-list"}, E.PROVIDER_UNAVAILABLE, "unknown-shape"),
    ),
    *rows(
        "sandbox_api",
        ("api", 401, sandbox("INVALID_API_KEY"), E.INVALID_CREDENTIALS, "bad-key"),
        ("api", 403, sandbox("PERMISSION_DENIED"), E.PERMISSION_DENIED, "permission"),
        ("api", 404, sandbox("ACCOUNT_NOT_FOUND"), E.ACCOUNT_NOT_FOUND, "account"),
        ("api", 429, sandbox("RATE_LIMITED"), E.RATE_LIMITED, "rate"),
        ("api", 500, sandbox("INTERNAL"), E.PROVIDER_UNAVAILABLE, "internal"),
    ),
    *rows(
        "google_ads",
        ("token", 400, REVOKED_GOOGLE, E.AUTH_EXPIRED, "expired-or-revoked"),
        ("token", 400, rfc6749("invalid_grant", "Bad Request"), E.AUTH_REVOKED, "bad-request"),
        (
            "token",
            400,
            rfc6749("invalid_grant", "Account has been deleted"),
            E.AUTH_REVOKED,
            "gone",
        ),
        ("token", 401, rfc6749("invalid_client", "not found"), E.APP_MISCONFIGURED, "client"),
        ("api", 401, ads("authenticationError", "OAUTH_TOKEN_REVOKED"), E.AUTH_REVOKED, "revoked"),
        (
            "api",
            401,
            ads("authenticationError", "OAUTH_TOKEN_DISABLED"),
            E.AUTH_REVOKED,
            "disabled",
        ),
        (
            "api",
            401,
            ads("authenticationError", "GOOGLE_ACCOUNT_DELETED"),
            E.AUTH_REVOKED,
            "deleted",
        ),
        ("api", 401, ads("authenticationError", "NOT_ADS_USER"), E.AUTH_REVOKED, "not-ads-user"),
        (
            "api",
            401,
            ads("authenticationError", "OAUTH_TOKEN_EXPIRED"),
            E.ACCESS_TOKEN_EXPIRED,
            "ttl",
        ),
        (
            "api",
            403,
            ads("authorizationError", "USER_PERMISSION_DENIED"),
            E.PERMISSION_DENIED,
            "perm",
        ),
        (
            "api",
            401,
            ads("authenticationError", "TWO_STEP_VERIFICATION_NOT_ENROLLED"),
            E.PERMISSION_DENIED,
            "2-step-verification",
        ),
        ("api", 403, ads("authorizationError", "CUSTOMER_NOT_ENABLED"), E.ACCOUNT_NOT_FOUND, "off"),
        ("api", 401, ads("authenticationError", "CUSTOMER_NOT_FOUND"), E.ACCOUNT_NOT_FOUND, "none"),
        (
            "api",
            403,
            ads("authorizationError", "DEVELOPER_TOKEN_NOT_APPROVED"),
            E.APP_MISCONFIGURED,
            "developer-token",
        ),
        ("api", 429, ads("quotaError", "RESOURCE_EXHAUSTED"), E.RATE_LIMITED, "quota"),
        ("api", 400, ads("queryError", "UNRECOGNIZED_FIELD"), E.DATA_ERROR, "query"),
        ("api", 500, ads("internalError", "INTERNAL_ERROR"), E.PROVIDER_UNAVAILABLE, "internal"),
        # searchStream answers a JSON array.
        ("api", 401, [ads("authenticationError", "OAUTH_TOKEN_REVOKED")], E.AUTH_REVOKED, "stream"),
    ),
    *rows(
        "google_analytics",
        ("token", 400, REVOKED_GOOGLE, E.AUTH_EXPIRED, "expired-or-revoked"),
        ("token", 400, rfc6749("invalid_grant", "Bad Request"), E.AUTH_REVOKED, "bad-request"),
        ("api", 401, google(401, "UNAUTHENTICATED"), E.ACCESS_TOKEN_EXPIRED, "unauthenticated"),
        ("api", 403, google(403, "PERMISSION_DENIED"), E.PERMISSION_DENIED, "permission"),
        ("api", 403, GA_API_DISABLED, E.APP_MISCONFIGURED, "api-disabled"),
        ("api", 404, google(404, "NOT_FOUND"), E.ACCOUNT_NOT_FOUND, "property-gone"),
        ("api", 429, google(429, "RESOURCE_EXHAUSTED"), E.RATE_LIMITED, "quota"),
        ("api", 400, google(400, "INVALID_ARGUMENT"), E.DATA_ERROR, "bad-metric"),
        ("api", 503, google(503, "UNAVAILABLE"), E.PROVIDER_UNAVAILABLE, "unavailable"),
    ),
    *rows(
        "google_search_console",
        ("token", 400, REVOKED_GOOGLE, E.AUTH_EXPIRED, "expired-or-revoked"),
        ("token", 400, rfc6749("invalid_grant", "Bad Request"), E.AUTH_REVOKED, "bad-request"),
        ("api", 401, google(401, "UNAUTHENTICATED"), E.ACCESS_TOKEN_EXPIRED, "unauthenticated"),
        ("api", 403, gsc("forbidden"), E.PERMISSION_DENIED, "permission"),
        ("api", 403, gsc("quotaExceeded"), E.RATE_LIMITED, "quota"),
        ("api", 403, gsc("accessNotConfigured"), E.APP_MISCONFIGURED, "api-disabled"),
        ("api", 404, google(404, "NOT_FOUND"), E.ACCOUNT_NOT_FOUND, "site-gone"),
        ("api", 400, google(400, "INVALID_ARGUMENT"), E.DATA_ERROR, "bad-query"),
        ("api", 500, google(500, "INTERNAL"), E.PROVIDER_UNAVAILABLE, "internal"),
    ),
    *rows(
        "meta_ads",
        ("api", 400, meta(190, 458), E.AUTH_REVOKED, "190-458-app-removed"),
        ("api", 400, meta(190, 459), E.AUTH_EXPIRED, "190-459-checkpoint"),
        ("api", 400, meta(190, 460), E.AUTH_REVOKED, "190-460-password-changed"),
        ("api", 400, meta(190, 463), E.AUTH_EXPIRED, "190-463-expired"),
        ("api", 400, meta(190, 464), E.AUTH_REVOKED, "190-464-unconfirmed"),
        ("api", 400, meta(190, 467), E.AUTH_REVOKED, "190-467-invalid"),
        ("api", 400, meta(190), E.AUTH_REVOKED, "190-no-subcode"),
        ("api", 400, meta(102), E.AUTH_REVOKED, "102-session"),
        ("api", 403, meta(10), E.PERMISSION_DENIED, "10-permission"),
        ("api", 403, meta(200), E.PERMISSION_DENIED, "200-permission"),
        ("api", 403, meta(294), E.PERMISSION_DENIED, "294-ads-management"),
        ("api", 400, meta(100, 33), E.ACCOUNT_NOT_FOUND, "100-33-no-such-object"),
        ("api", 400, meta(100), E.DATA_ERROR, "100-invalid-parameter"),
        ("api", 500, meta(1), E.PROVIDER_UNAVAILABLE, "1-unknown"),
        ("api", 400, meta(1), E.PROVIDER_UNAVAILABLE, "1-unknown-400"),
        ("api", 503, meta(2), E.PROVIDER_UNAVAILABLE, "2-service"),
        *(
            ("api", 400, meta(code), E.RATE_LIMITED, f"{code}-throttled")
            for code in (4, 17, 32, 341, 613, 80000, 80004, 80014)
        ),
        (
            "token",
            400,
            meta(1, message="Error validating client secret."),
            E.APP_MISCONFIGURED,
            "app",
        ),
    ),
    *rows(
        "linkedin_ads",
        ("token", 400, LINKEDIN_REFRESH_DEAD, E.AUTH_EXPIRED, "refresh-expired"),
        (
            "token",
            400,
            rfc6749("invalid_grant", "code is invalid"),
            E.AUTH_REVOKED,
            "invalid-grant",
        ),
        ("api", 401, linkedin(401, 65601, "token revoked by the user"), E.AUTH_REVOKED, "65601"),
        ("api", 401, linkedin(401, 65602, "token expired"), E.ACCESS_TOKEN_EXPIRED, "65602"),
        ("api", 403, linkedin(403, 100, "Not enough permissions"), E.PERMISSION_DENIED, "perm"),
        ("api", 404, linkedin(404, 0, "Not found"), E.ACCOUNT_NOT_FOUND, "no-account"),
        ("api", 429, linkedin(429, 0, "Resource level throttle"), E.RATE_LIMITED, "throttle"),
        ("api", 400, linkedin(400, 100, "Invalid param"), E.DATA_ERROR, "bad-param"),
        ("api", 504, "<html>Gateway Timeout</html>", E.PROVIDER_UNAVAILABLE, "gateway"),
    ),
    *rows(
        "microsoft_ads",
        ("token", 400, AADSTS700082, E.AUTH_EXPIRED, "700082-inactive-90-days"),
        ("token", 400, AADSTS50079, E.AUTH_EXPIRED, "interaction-required"),
        ("token", 400, AADSTS50173, E.AUTH_EXPIRED, "50173-password-reset"),
        ("token", 400, AADSTS65001, E.AUTH_REVOKED, "65001-consent-withdrawn"),
        ("token", 401, AADSTS7000215, E.APP_MISCONFIGURED, "7000215-client-secret"),
        ("api", 401, bing(109, "AuthenticationTokenExpired"), E.ACCESS_TOKEN_EXPIRED, "109"),
        ("api", 401, bing(105, "InvalidCredentials"), E.ACCESS_TOKEN_EXPIRED, "105-refresh-first"),
        ("api", 403, bing(106, "UserIsNotAuthorized"), E.PERMISSION_DENIED, "106"),
        ("api", 400, bing(117, "CallRateExceeded"), E.RATE_LIMITED, "117"),
        ("api", 500, bing(0, "InternalError"), E.PROVIDER_UNAVAILABLE, "0-internal"),
    ),
    *rows(
        "hubspot",
        ("token", 400, HUBSPOT_DEAD_REFRESH, E.AUTH_REVOKED, "bad-refresh-token"),
        ("token", 400, HUBSPOT_BAD_CLIENT, E.APP_MISCONFIGURED, "bad-client-id"),
        ("api", 403, hubspot("MISSING_SCOPES"), E.PERMISSION_DENIED, "missing-scopes"),
        ("api", 401, hubspot("EXPIRED_AUTHENTICATION"), E.ACCESS_TOKEN_EXPIRED, "expired"),
        ("api", 429, hubspot("RATE_LIMITS"), E.RATE_LIMITED, "rate-limits"),
        ("api", 400, hubspot("VALIDATION_ERROR"), E.DATA_ERROR, "validation"),
        ("api", 404, hubspot("OBJECT_NOT_FOUND"), E.ACCOUNT_NOT_FOUND, "not-found"),
        ("api", 502, "<html>Bad Gateway</html>", E.PROVIDER_UNAVAILABLE, "bad-gateway"),
    ),
    *rows(
        "mailchimp",
        ("api", 401, mailchimp(401, "API Key Invalid"), E.INVALID_CREDENTIALS, "key-invalid"),
        ("api", 403, mailchimp(403, "User Disabled"), E.PERMISSION_DENIED, "user-disabled"),
        ("api", 404, mailchimp(404, "Resource Not Found"), E.ACCOUNT_NOT_FOUND, "not-found"),
        ("api", 429, mailchimp(429, "Too Many Requests"), E.RATE_LIMITED, "too-many"),
        ("api", 400, mailchimp(400, "Invalid Resource"), E.DATA_ERROR, "invalid-resource"),
        ("api", 500, mailchimp(500, "Internal Server Error"), E.PROVIDER_UNAVAILABLE, "internal"),
    ),
    *rows(
        "callrail",
        ("api", 401, {"error": "HTTP Token: Access denied."}, E.INVALID_CREDENTIALS, "denied"),
        ("api", 403, {"error": "No access to this account"}, E.PERMISSION_DENIED, "forbidden"),
        ("api", 404, {"error": "Not found"}, E.ACCOUNT_NOT_FOUND, "not-found"),
        ("api", 429, {"error": "Rate limit exceeded"}, E.RATE_LIMITED, "rate"),
        ("api", 422, {"error": "Invalid date range"}, E.DATA_ERROR, "invalid"),
        ("api", 503, "", E.PROVIDER_UNAVAILABLE, "unavailable"),
    ),
    # Semrush: Standard API errors are text, Projects API errors JSON.
    *rows(
        "semrush",
        ("api", 200, "ERROR 120 :: WRONG KEY - ID PAIR", E.INVALID_CREDENTIALS, "120-in-a-200"),
        ("api", 400, {"code": 120, "message": "Wrong key-ID pair"}, E.INVALID_CREDENTIALS, "json"),
        ("api", 403, "ERROR 132 :: API UNITS BALANCE IS ZERO", E.PERMISSION_DENIED, "132-no-units"),
        ("api", 200, "ERROR 50 :: NOTHING FOUND", E.DATA_ERROR, "50-nothing-found"),
        ("api", 429, "", E.RATE_LIMITED, "rate"),
        ("api", 500, "ERROR 120 :: WRONG KEY - ID PAIR", E.PROVIDER_UNAVAILABLE, "120-in-a-500"),
    ),
    *rows(
        "stripe",
        (
            "api",
            401,
            stripe("invalid_request_error", "api_key_expired"),
            E.INVALID_CREDENTIALS,
            "ttl",
        ),
        ("api", 403, stripe("invalid_request_error"), E.PERMISSION_DENIED, "restricted-key"),
        ("api", 403, stripe("permission_error"), E.PERMISSION_DENIED, "permission-error"),
        ("api", 429, stripe("rate_limit_error", "rate_limit"), E.RATE_LIMITED, "rate"),
        ("api", 400, stripe("invalid_request_error", "parameter_unknown"), E.DATA_ERROR, "param"),
        ("api", 500, stripe("api_error"), E.PROVIDER_UNAVAILABLE, "api-error"),
    ),
]


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
