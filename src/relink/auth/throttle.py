"""Sign-in rate limiting: failed attempts per e-mail and per address, in a sliding window."""

from __future__ import annotations

import time
from collections import defaultdict, deque

from relink.errors import RelinkError

# Ten wrong passwords in fifteen minutes is past any typo; it is someone guessing.
MAX_FAILURES = 10
WINDOW_SECONDS = 15 * 60


class TooManyAttempts(RelinkError):
    status_code = 429

    def __init__(self, wait_seconds: int) -> None:
        minutes = max(1, round(wait_seconds / 60))
        super().__init__(
            f"too many failed sign-ins; wait {minutes} minute{'s' if minutes != 1 else ''} "
            "and try again"
        )
        self.wait_seconds = wait_seconds


class LoginThrottle:
    """In-process counts; each app process limits on its own (a documented scaled-mode gap)."""

    def __init__(self, *, max_failures: int = MAX_FAILURES, window: float = WINDOW_SECONDS) -> None:
        self.max_failures = max_failures
        self.window = window
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    def _keys(self, email: str, address: str) -> tuple[str, str]:
        return f"email:{email.strip().lower()}", f"addr:{address}"

    def check(self, *, email: str, address: str, now: float | None = None) -> None:
        """Raise ``TooManyAttempts`` while either key is over the limit."""
        moment = time.monotonic() if now is None else now
        for key in self._keys(email, address):
            attempts = self._prune(key, moment)
            if len(attempts) >= self.max_failures:
                raise TooManyAttempts(int(attempts[0] + self.window - moment))

    def failed(self, *, email: str, address: str, now: float | None = None) -> None:
        moment = time.monotonic() if now is None else now
        for key in self._keys(email, address):
            self._failures[key].append(moment)

    def succeeded(self, *, email: str, address: str) -> None:
        self._failures.pop(self._keys(email, address)[0], None)

    def _prune(self, key: str, moment: float) -> deque[float]:
        attempts = self._failures[key]
        while attempts and attempts[0] <= moment - self.window:
            attempts.popleft()
        return attempts
