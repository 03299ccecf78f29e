"""What a provider's revocation signal says was done to a login, in the words people read.

A signal never disconnects anything by itself (signals/check.py): the token endpoint's answer
decides. But once that answer says the grant is dead, the signal is the better witness of why.
``invalid_grant`` often says no more than "expired or revoked"; a RISC ``tokens-revoked``
event or Meta's Deauthorize Callback says access was removed at the provider, and sometimes
by whom.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

# The event names Relink acts on: the last segment of a RISC event type URI (both the oauth/
# and risc/ namespaces), and Meta's Deauthorize Callback.
TOKENS_REVOKED: Final = "tokens-revoked"
SESSIONS_REVOKED: Final = "sessions-revoked"
ACCOUNT_DISABLED: Final = "account-disabled"
CREDENTIAL_CHANGE_REQUIRED: Final = "account-credential-change-required"
DEAUTHORIZED: Final = "deauthorize"
# When one signal names a login in several events, the one that says most about why wins.
EVENT_ORDER: Final = (
    DEAUTHORIZED,
    TOKENS_REVOKED,
    ACCOUNT_DISABLED,
    SESSIONS_REVOKED,
    CREDENTIAL_CHANGE_REQUIRED,
)

BY_OWNER: Final = "the account owner"
# A transmitter's ``reason`` that names who removed access. RISC defines none for
# tokens-revoked; the sandbox (sandbox/transmitter.py) says this when a person removed it.
OWNER_REASONS: Final = frozenset({"user removed access"})
# RISC account-disabled's reasons (OpenID RISC Event Types 1.0, section 2.3).
DISABLED_BECAUSE: Final = {
    "hijacking": "it suspects the account was hijacked",
    "bulk-account": "it took the account for one of many created in bulk",
}
# A reason is the provider's text: only as much of it as a log line needs is kept.
REASON_CHARS: Final = 80
RECONNECT: Final = "reconnect to sign in again"


@dataclass(frozen=True, slots=True)
class Revocation:
    """One provider signal about one login: which event, and the event's own reason."""

    event: str
    reason: str | None = None

    @classmethod
    def of(cls, event: str, reason: object = None) -> Revocation:
        """The revocation an event type (a URI or a bare name) reports, its reason kept short."""
        name = event.rstrip("/").rsplit("/", 1)[-1]
        said = reason.strip()[:REASON_CHARS] if isinstance(reason, str) and reason.strip() else None
        return cls(name, said)

    @property
    def by(self) -> str | None:
        """Who removed access, when the signal says."""
        if self.event == DEAUTHORIZED:
            # Meta sends it only when the person removes the app from their own settings.
            return BY_OWNER
        if self.reason is not None and self.reason.casefold() in OWNER_REASONS:
            return BY_OWNER
        return None

    def said(self, provider_name: str) -> str:
        """What happened, in one sentence for the people who must reconnect."""
        by = f" by {self.by}" if self.by else ""
        if self.event == DEAUTHORIZED:
            return (
                f"Access was removed at {provider_name}{by}, who removed Relink's app there; "
                "reconnect to authorize it again."
            )
        if self.event == ACCOUNT_DISABLED:
            why = DISABLED_BECAUSE.get((self.reason or "").casefold())
            because = f" ({why})" if why else ""
            return (
                f"Access was removed at {provider_name}: it disabled the login's account"
                f"{because}; {RECONNECT} once the account is restored."
            )
        if self.event == SESSIONS_REVOKED:
            return (
                f"Access was removed at {provider_name}{by}: it signed the login out "
                f"everywhere; {RECONNECT}."
            )
        if self.event == CREDENTIAL_CHANGE_REQUIRED:
            return (
                f"Access was removed at {provider_name}: it requires the login's password to be "
                f"changed; {RECONNECT} after that."
            )
        return f"Access was removed at {provider_name}{by}; {RECONNECT}."
