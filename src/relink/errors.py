"""Errors are classes: each carries the message a person reads and the HTTP status it maps to."""

from __future__ import annotations


class RelinkError(Exception):
    """Base of every error Relink raises on purpose."""

    status_code = 400

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status_code is not None:
            self.status_code = status_code

    @property
    def headers(self) -> dict[str, str] | None:
        """HTTP headers the answer carries (``Retry-After``, say); none by default."""
        return None


class NotFound(RelinkError):
    """Absent, or outside what the caller may see: existence must not leak."""

    status_code = 404

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} not found")


class Forbidden(RelinkError):
    status_code = 403


class IllegalTransition(RelinkError):
    status_code = 409

    def __init__(self, subject: str, current: str, target: str) -> None:
        super().__init__(f"a {subject} cannot go from {current} to {target}")
        self.current = current
        self.target = target


class CredentialsUnreadable(RelinkError):
    """A stored secret failed to decrypt: tampered, or encrypted under a key we no longer have."""

    status_code = 409


class InvalidInput(RelinkError):
    status_code = 422
