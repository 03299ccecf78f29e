"""Error payloads shaped as each provider documents them: builders for the classifier's tests."""

from __future__ import annotations

from typing import Any, NamedTuple

from relink.providers.classify import Phase
from relink.providers.taxonomy import ErrorClass


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
