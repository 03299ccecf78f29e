"""The sandbox's mutable state: codes, token families, API keys, faults and counters.

Everything runs on the server's one event loop, so no locking is needed. Tests read this object
(`app.state.sandbox`) directly to check what the server saw.
"""

from __future__ import annotations

import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from relink.sandbox import persistence
from relink.sandbox.faults import FaultBook
from relink.sandbox.oauth_models import AuthorizationCode, Client, Family, Token
from relink.sandbox.seed import API_KEY_PREFIX, CLIENT_ID, CLIENT_SECRET, SCOPES, World
from relink.sandbox.transmitter import Transmitter

API_KEY_BODY_LENGTH = 32


# Seconds a rotated refresh token still works for a client retrying after a lost answer;
# after that, presenting it again is reuse and revokes the family (RFC 9700 4.14.2).
DEFAULT_REFRESH_REUSE_GRACE_SECONDS = 60.0


@dataclass
class Stats:
    """Counters for tests and benchmarks; not persisted."""

    token_requests: Counter[str] = field(default_factory=Counter)  # by grant_type
    token_requests_by_subject: Counter[str] = field(default_factory=Counter)
    token_requests_by_family: Counter[str] = field(default_factory=Counter)
    api_requests: Counter[str] = field(default_factory=Counter)  # by route name
    api_requests_by_account: Counter[str] = field(default_factory=Counter)
    faults_triggered: Counter[str] = field(default_factory=Counter)  # by fault kind
    refresh_token_reuse_detected: int = 0
    refresh_token_grace_reuse: int = 0
    dropped_responses: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "token_requests": dict(self.token_requests),
            "token_requests_by_subject": dict(self.token_requests_by_subject),
            "token_requests_by_family": dict(self.token_requests_by_family),
            "api_requests": dict(self.api_requests),
            "api_requests_by_account": dict(self.api_requests_by_account),
            "faults_triggered": dict(self.faults_triggered),
            "refresh_token_reuse_detected": self.refresh_token_reuse_detected,
            "refresh_token_grace_reuse": self.refresh_token_grace_reuse,
            "dropped_responses": self.dropped_responses,
        }


class SandboxState:
    def __init__(
        self,
        *,
        world: World,
        redirect_uris: list[str],
        access_token_ttl: int,
        state_path: Path | None = None,
        refresh_reuse_grace: float = DEFAULT_REFRESH_REUSE_GRACE_SECONDS,
    ) -> None:
        self.world = world
        self.refresh_reuse_grace = refresh_reuse_grace
        self.access_token_ttl = access_token_ttl
        self.state_path = state_path
        self.client = Client(CLIENT_ID, CLIENT_SECRET, list(redirect_uris), SCOPES)
        # Tests move time forward instead of sleeping (expiry of access tokens and faults).
        self.clock_offset = 0.0
        self.faults = FaultBook()
        # Signs and pushes revocation signals (RISC SETs, Meta-style callbacks).
        self.transmitter = Transmitter()
        self.stats = Stats()
        self.codes: dict[str, AuthorizationCode] = {}
        # Spent code -> the family it started, so a replayed code revokes that family.
        self.spent_codes: dict[str, str] = {}
        self.families: dict[str, Family] = {}
        self.tokens_by_access: dict[str, Token] = {}
        self.tokens_by_refresh: dict[str, Token] = {}
        self.api_keys: dict[str, str] = {}  # account id -> current key
        self._seed()
        if state_path is not None and state_path.exists():
            persistence.load(self, state_path)

    def now(self) -> float:
        return time.time() + self.clock_offset

    def advance_clock(self, seconds: float) -> None:
        self.clock_offset += seconds

    def reset(self) -> None:
        """Back to the seeded world: tokens, keys, faults and counters."""
        self.faults.clear()
        self.stats = Stats()
        self.clock_offset = 0.0
        self._seed()
        self.save()

    def _seed(self) -> None:
        self.codes.clear()
        self.spent_codes.clear()
        self.families.clear()
        self.tokens_by_access.clear()
        self.tokens_by_refresh.clear()
        now = self.now()
        for identity in self.world.identities:
            if identity.demo_refresh_token is None:
                continue
            family = self.start_family(identity.subject, self.client.client_id, " ".join(SCOPES))
            # Seeded grants hold a refresh token only: the first thing Relink does is refresh.
            self.store_token(
                Token(
                    family_id=family.id,
                    subject=identity.subject,
                    client_id=self.client.client_id,
                    scope=family.scope,
                    issued_at=now,
                    expires_in=0,
                    refresh_token=identity.demo_refresh_token,
                ),
                persist=False,
            )
        self.api_keys = {entry.account.id: entry.demo_api_key for entry in self.world.api_keys}

    # Authorization codes

    def save_code(self, code: AuthorizationCode) -> None:
        self.codes[code.code] = code
        self.save()

    def find_code(self, code: str) -> AuthorizationCode | None:
        found = self.codes.get(code)
        if found is None or found.is_expired_at(self.now()):
            return None
        return found

    def spend_code(self, code: AuthorizationCode, family_id: str) -> None:
        self.codes.pop(code.code, None)
        self.spent_codes[code.code] = family_id
        self.save()

    # Token families and tokens

    def start_family(self, subject: str, client_id: str, scope: str) -> Family:
        family = Family(
            id="fam_" + secrets.token_hex(8),
            subject=subject,
            client_id=client_id,
            scope=scope,
            created_at=self.now(),
        )
        self.families[family.id] = family
        return family

    def store_token(self, token: Token, *, persist: bool = True) -> None:
        if token.access_token:
            self.tokens_by_access[token.access_token] = token
        if token.refresh_token:
            self.tokens_by_refresh[token.refresh_token] = token
        if persist:
            self.save()

    def mark_refresh_used(self, token: Token) -> None:
        token.refresh_status = "used"
        if token.refresh_used_at is None:
            token.refresh_used_at = self.now()
        self.save()

    def in_reuse_grace(self, token: Token) -> bool:
        """A just-spent refresh token may be presented again for a short while (a client
        that lost the answer retries), as Okta's and Auth0's rotation grace periods allow."""
        return (
            token.refresh_status == "used"
            and token.refresh_used_at is not None
            and self.now() - token.refresh_used_at <= self.refresh_reuse_grace
        )

    def revoke_family(self, family_id: str, reason: str) -> None:
        family = self.families.get(family_id)
        if family is None or family.revoked:
            return
        family.revoked = True
        family.revoked_reason = reason
        for token in self.tokens_in_family(family_id):
            token.access_revoked = True
            token.refresh_status = "revoked"
        self.save()

    def revoke_access_token(self, token: Token) -> None:
        token.access_revoked = True
        self.save()

    def tokens_in_family(self, family_id: str) -> list[Token]:
        return [t for t in self.all_tokens() if t.family_id == family_id]

    def all_tokens(self) -> list[Token]:
        # A token is indexed under both its access and its refresh token; count it once.
        both = [*self.tokens_by_access.values(), *self.tokens_by_refresh.values()]
        return list({id(t): t for t in both}.values())

    def family_of(self, token: Token) -> Family:
        return self.families[token.family_id]

    # API keys

    def account_for_api_key(self, key: str) -> str | None:
        for account_id, current in self.api_keys.items():
            if secrets.compare_digest(current.encode(), key.encode()):
                return account_id
        return None

    def rotate_api_key(self, account_id: str) -> str:
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
        body = "".join(secrets.choice(alphabet) for _ in range(API_KEY_BODY_LENGTH))
        self.api_keys[account_id] = API_KEY_PREFIX + body
        self.save()
        return self.api_keys[account_id]

    def save(self) -> None:
        if self.state_path is not None:
            persistence.save(self, self.state_path)
