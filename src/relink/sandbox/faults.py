"""Fault switches: what can go wrong at the sandbox, for whom, and for how long.

A fault is a record, not an action: it is evaluated on every request, so clearing it (or its
duration running out) heals everything it did, except `rotate_api_key`, which changes a key for
good, as a real rotation does. The grant-level faults (`revoke_grant`, `expire_refresh`) hit only
token families that existed before the fault, so a fresh consent (a reconnect) works at once.
"""

from __future__ import annotations

import enum
import secrets
from dataclasses import asdict, dataclass
from typing import Any


class FaultKind(enum.StrEnum):
    REVOKE_GRANT = "revoke_grant"
    EXPIRE_REFRESH = "expire_refresh"
    # The provider ends the login's access tokens before their stated lifetime (a password
    # change, a security policy): the data API calls them expired, their refresh still works.
    END_ACCESS = "end_access"
    REMOVE_PERMISSION = "remove_permission"
    UNLINK_ACCOUNT = "unlink_account"
    ROTATE_API_KEY = "rotate_api_key"
    RATE_LIMIT = "rate_limit"
    SERVER_ERROR = "server_error"
    SLOW = "slow"
    DROP_RESPONSE = "drop_response"
    MALFORMED_DATA = "malformed_data"
    INVALID_CLIENT = "invalid_client"


# Kinds that concern a login's tokens as a whole; an account target means nothing for them.
GRANT_ONLY_KINDS = frozenset(
    {
        FaultKind.REVOKE_GRANT,
        FaultKind.EXPIRE_REFRESH,
        FaultKind.END_ACCESS,
        FaultKind.INVALID_CLIENT,
    }
)
DEFAULT_RETRY_AFTER_SECONDS = 30
DEFAULT_DELAY_SECONDS = 5.0
DEFAULT_SERVER_ERROR_STATUS = 500
SERVER_ERROR_STATUSES = (500, 502, 503)
MALFORMED_MODES = ("types", "non_json")


@dataclass
class Fault:
    id: str
    kind: FaultKind
    created_at: float
    # The identity's subject (e-mail targets are resolved to the subject when added).
    subject: str | None = None
    account: str | None = None
    expires_at: float | None = None
    # Matching requests left to fault; None: until it expires or is cleared.
    remaining: int | None = None
    retry_after: int = DEFAULT_RETRY_AFTER_SECONDS
    delay: float = DEFAULT_DELAY_SECONDS
    status: int = DEFAULT_SERVER_ERROR_STATUS
    mode: str = MALFORMED_MODES[0]
    # None: both surfaces; "oauth" makes e.g. a hang of the token endpoint only.
    surface: str | None = None

    def is_active_at(self, now: float) -> bool:
        if self.remaining is not None and self.remaining <= 0:
            return False
        return self.expires_at is None or now < self.expires_at

    def spend(self) -> Fault:
        """Count one use of a fault limited to a number of requests."""
        if self.remaining is not None:
            self.remaining -= 1
        return self

    def matches(
        self, *, subject: str | None, account: str | None, surface: str | None = None
    ) -> bool:
        """A target left open matches anything; a set target must equal the request's."""
        if self.subject is not None and self.subject != subject:
            return False
        if self.surface is not None and surface is not None and self.surface != surface:
            return False
        return self.account is None or self.account == account

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Fault:
        return cls(**{**data, "kind": FaultKind(data["kind"])})


def new_fault_id() -> str:
    return "flt_" + secrets.token_hex(6)


class FaultBook:
    """The faults switched on, oldest first."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        self._faults.append(fault)

    def active(self, now: float) -> list[Fault]:
        # Expired faults are dropped lazily: nothing needs to run when a duration ends.
        self._faults = [f for f in self._faults if f.is_active_at(now)]
        return list(self._faults)

    def clear(self, fault_id: str | None = None) -> int:
        """Remove one fault, or all of them; returns how many were removed."""
        before = len(self._faults)
        if fault_id is None:
            self._faults = []
        else:
            self._faults = [f for f in self._faults if f.id != fault_id]
        return before - len(self._faults)

    def find(
        self,
        kind: FaultKind,
        *,
        now: float,
        subject: str | None = None,
        account: str | None = None,
        surface: str | None = None,
    ) -> Fault | None:
        return self.first_of((kind,), now=now, subject=subject, account=account, surface=surface)

    def first_of(
        self,
        kinds: tuple[FaultKind, ...],
        *,
        now: float,
        subject: str | None = None,
        account: str | None = None,
        surface: str | None = None,
    ) -> Fault | None:
        """The oldest matching fault of any of ``kinds``, spent once: faults switched on one
        after another strike in that order (a dropped answer, then two 5xx, then a good one)."""
        for fault in self.active(now):
            target = fault.matches(subject=subject, account=account, surface=surface)
            if fault.kind in kinds and target:
                return fault.spend()
        return None

    def find_for_family(
        self, kind: FaultKind, *, now: float, subject: str, family_created_at: float
    ) -> Fault | None:
        """A grant-level fault hits only families born before it: a reconnect after it works.

        (``end_access`` passes a token's issue time: only tokens issued before it end.)"""
        for fault in self.active(now):
            if (
                fault.kind == kind
                and fault.matches(subject=subject, account=None)
                and family_created_at < fault.created_at
            ):
                return fault.spend()
        return None

    def to_list(self) -> list[dict[str, Any]]:
        return [f.to_dict() for f in self._faults]

    def load(self, items: list[dict[str, Any]]) -> None:
        self._faults = [Fault.from_dict(item) for item in items]
