"""A dead grant is told as the provider's words say: revoked, expired, or either (Google's one
answer for both), never "expired" on a guess."""

from __future__ import annotations

import pytest

from relink.providers.catalog import load_catalog
from relink.providers.classify import classify
from relink.providers.dead_grant import HINT_EITHER, told
from relink.providers.spec import ProviderSpec
from relink.providers.taxonomy import ErrorClass
from tests.providers.error_shapes import REVOKED_GOOGLE, rfc6749

CATALOG = load_catalog()
# An OAuth entry with no invalid_grant rules of its own: the shared reading applies.
PLAIN = CATALOG.get("hubspot")
E = ErrorClass


def dead(spec: ProviderSpec, description: str) -> tuple[ErrorClass, str]:
    body = rfc6749("invalid_grant", description)
    result = classify(spec, status=400, body=body, headers=None, phase="token")
    return result.error_class, result.hint


def test_a_plain_invalid_grant_that_says_revoked_is_told_as_access_removed() -> None:
    error_class, hint = dead(PLAIN, "The refresh token was revoked by the user.")

    assert error_class is E.AUTH_REVOKED
    assert "removed at the provider" in hint
    assert "expired" not in hint


def test_a_plain_invalid_grant_that_says_expired_is_auth_expired() -> None:
    error_class, hint = dead(PLAIN, "The refresh token has expired.")

    assert error_class is E.AUTH_EXPIRED
    assert "has expired" in hint


def test_a_plain_invalid_grant_that_says_expired_or_revoked_is_told_as_either() -> None:
    error_class, hint = dead(PLAIN, "Token has been expired or revoked.")

    assert error_class is E.AUTH_REVOKED
    assert hint == HINT_EITHER
    assert "no longer works: it was revoked or has expired" in hint


@pytest.mark.parametrize("spec", [s for s in CATALOG if s.oauth], ids=lambda s: s.key)
def test_no_catalog_entry_tells_an_expired_or_revoked_answer_as_expired(
    spec: ProviderSpec,
) -> None:
    result = classify(spec, status=400, body=REVOKED_GOOGLE, headers=None, phase="token")

    assert result.disconnects
    assert result.error_class is not E.AUTH_EXPIRED
    assert told(result.hint) != "expired", result.hint


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Token has been expired or revoked.", "revoked_or_expired"),
        (
            "The provided authorization grant or refresh token is invalid, expired or revoked",
            "revoked_or_expired",
        ),
        ("AADSTS700082: The refresh token has expired due to inactivity.", "expired"),
        ("Refresh token was already used; every token of this grant is now revoked.", "revoked"),
        ("Unknown refresh token.", None),
        (None, None),
    ],
)
def test_told_reads_what_a_message_says_of_a_dead_grant(text: str | None, expected: str) -> None:
    assert told(text) == expected
