"""The words of a provider's revocation signal: access removed at the provider, by whom when
the signal says, and never "expired"."""

from __future__ import annotations

import pytest

from relink.providers.revocation import EVENT_ORDER, Revocation

RISC = "https://schemas.openid.net/secevent/risc/event-type/"
OAUTH = "https://schemas.openid.net/secevent/oauth/event-type/"


def test_a_tokens_revoked_event_says_access_was_removed_at_the_provider() -> None:
    said = Revocation.of(OAUTH + "tokens-revoked").said("Google Ads")

    assert said == "Access was removed at Google Ads; reconnect to sign in again."


def test_a_person_who_removed_access_is_named_as_the_account_owner() -> None:
    revocation = Revocation.of(OAUTH + "tokens-revoked", "user removed access")

    assert revocation.said("Sandbox Ads").startswith(
        "Access was removed at Sandbox Ads by the account owner;"
    )


def test_a_meta_deauthorize_says_the_account_owner_removed_the_app() -> None:
    said = Revocation("deauthorize").said("Meta Ads")

    assert "removed at Meta Ads by the account owner" in said
    assert "Relink's app" in said


def test_an_account_disabled_for_hijacking_says_why() -> None:
    said = Revocation.of(RISC + "account-disabled", "hijacking").said("Google Ads")

    assert "disabled the login's account (it suspects the account was hijacked)" in said


def test_a_reason_nobody_documented_names_no_one() -> None:
    revocation = Revocation.of(OAUTH + "tokens-revoked", "  policy  ")

    assert revocation.by is None
    assert revocation.reason == "policy"


@pytest.mark.parametrize("event", EVENT_ORDER)
def test_no_signal_is_told_as_expired(event: str) -> None:
    said = Revocation.of(event, "user removed access").said("Sandbox Ads")

    assert said.startswith("Access was removed at Sandbox Ads")
    assert "expir" not in said
