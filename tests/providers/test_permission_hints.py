"""A permission_denied hint names the permission: the provider's own words first, else the
catalog's scopes. Shapes as each provider documents them."""

from __future__ import annotations

from typing import Any

import pytest

from relink.providers.catalog import load_catalog
from relink.providers.classify import classify
from relink.providers.permissions import MAX_NAMED
from relink.providers.taxonomy import ErrorClass

CATALOG = load_catalog()
ADWORDS = "https://www.googleapis.com/auth/adwords"


def _hint(provider: str, status: int, body: Any, headers: dict[str, str] | None = None) -> str:
    found = classify(CATALOG.get(provider), status=status, body=body, headers=headers, phase="api")
    assert found.error_class is ErrorClass.PERMISSION_DENIED, found
    return found.hint


def _google_insufficient_scope() -> dict[str, Any]:
    info = {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
        "domain": "googleapis.com",
        "metadata": {"service": "googleads.googleapis.com"},
    }
    message = "Request had insufficient authentication scopes."
    return {
        "error": {"code": 403, "message": message, "status": "PERMISSION_DENIED", "details": [info]}
    }


def test_google_names_the_scope_its_www_authenticate_header_asks_for() -> None:
    # RFC 6750 3.1: Google lists every scope that would do; the one Relink asks for is named.
    header = (
        'Bearer realm="https://accounts.google.com/", error="insufficient_scope", '
        f'scope="https://www.googleapis.com/auth/cloud-platform {ADWORDS}"'
    )

    hint = _hint("google_ads", 403, _google_insufficient_scope(), {"www-authenticate": header})

    assert f"Google Ads asked for the permission {ADWORDS}." in hint
    assert "cloud-platform" not in hint


def test_google_analytics_names_a_scope_the_header_asks_for_even_if_not_in_the_catalog() -> None:
    scope = "https://www.googleapis.com/auth/analytics.edit"
    header = f'Bearer error="insufficient_scope", scope="{scope}"'

    hint = _hint(
        "google_analytics", 403, _google_insufficient_scope(), {"WWW-Authenticate": header}
    )

    assert f"asked for the permission {scope}." in hint


def test_meta_names_the_permission_its_message_asks_for() -> None:
    body = {
        "error": {
            "message": "(#200) Requires ads_read permission",
            "type": "OAuthException",
            "code": 200,
            "fbtrace_id": "EJplcsCHuLu",
        }
    }

    assert "Meta Ads asked for the permission ads_read." in _hint("meta_ads", 403, body)


def test_meta_names_both_permissions_an_owner_did_not_grant() -> None:
    message = "(#200) Ad account owner has NOT grant ads_management or ads_read permission"
    body = {"error": {"message": message, "code": 200}}

    hint = _hint("meta_ads", 403, body)

    assert "asked for the permissions ads_read, ads_management." in hint


def test_hubspot_names_the_scopes_its_missing_scopes_answer_lists() -> None:
    body = {
        "status": "error",
        "message": "This app hasn't been granted all required scopes to make this call.",
        "errors": [
            {
                "message": "One or more of the following scopes are required.",
                "context": {"requiredGranularScopes": ["crm.objects.deals.read"]},
            }
        ],
        "category": "MISSING_SCOPES",
    }

    assert "HubSpot asked for the permission crm.objects.deals.read." in _hint("hubspot", 403, body)


def test_the_sandbox_names_the_scope_its_answer_says_is_missing() -> None:
    body = {
        "error": {"code": "PERMISSION_DENIED", "message": "The grant lacks the 'ads.read' scope."}
    }

    assert "Sandbox Ads asked for the permission ads.read." in _hint("sandbox", 403, body)


def test_an_answer_naming_no_permission_falls_back_to_the_catalogs_scopes() -> None:
    body = {
        "error": {
            "code": "PERMISSION_DENIED",
            "message": "The user no longer has permission to read data.",
        }
    }

    hint = _hint("sandbox", 403, body)

    assert hint.endswith("Relink's sign-in needs the permissions ads.read, ads.manage.")
    assert "asked for" not in hint


def test_the_fallback_leaves_out_identity_scopes() -> None:
    hint = _hint("google_ads", 403, _google_insufficient_scope())

    assert hint.endswith(f"Relink's sign-in needs the permission {ADWORDS}.")
    assert "openid" not in hint and "profile" not in hint


def test_prose_or_a_flood_of_names_in_the_answer_is_not_written_into_the_hint() -> None:
    scopes = ["<script>x</script>", "crm objects with spaces", *(f"s{i}.read" for i in range(9))]
    body = {"errors": [{"context": {"requiredScopes": scopes}}], "category": "MISSING_SCOPES"}

    hint = _hint("hubspot", 403, body)

    assert "<script>" not in hint and "with spaces" not in hint
    assert "s0.read" in hint and f"s{MAX_NAMED}.read" not in hint


def test_an_api_key_provider_without_scopes_keeps_its_hint() -> None:
    body = {"error": {"code": "PERMISSION_DENIED", "message": "No access to account X."}}

    assert _hint("sandbox_api", 403, body) == "This API key has no access to the account any more."


@pytest.mark.parametrize(
    ("provider", "status", "body", "expected"),
    [
        (
            "sandbox",
            404,
            {"error": {"code": "ACCOUNT_NOT_FOUND", "message": "ads.read"}},
            ErrorClass.ACCOUNT_NOT_FOUND,
        ),
        ("meta_ads", 400, {"error": {"message": "ads_read", "code": 190}}, ErrorClass.AUTH_REVOKED),
    ],
)
def test_other_classes_do_not_name_permissions(
    provider: str, status: int, body: Any, expected: ErrorClass
) -> None:
    found = classify(CATALOG.get(provider), status=status, body=body, headers=None, phase="api")

    assert found.error_class is expected
    assert "asked for" not in found.hint and "needs the permission" not in found.hint
