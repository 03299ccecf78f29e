"""Errors are classes: each carries the message a person reads and the HTTP status it maps to."""

from __future__ import annotations

import re
from typing import Any


def snake_case(name: str) -> str:
    """``CsrfRefused`` -> ``csrf_refused``, ``HTTPError`` -> ``http_error``."""
    spaced = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", spaced).lower()


class RelinkError(Exception):
    """Base of every error Relink raises on purpose."""

    status_code = 400
    # The error page's heading, when the status code's own would mislead.
    page_title: str | None = None
    # The stable, machine-readable name of the error's class in an API answer (problem+json
    # ``code``): its class name in snake case unless the class names its own. Scripts branch on
    # it, so renaming a class that has clients out there means naming its old code here.
    code = "relink_error"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "code" not in cls.__dict__:
            cls.code = snake_case(cls.__name__)

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


# How long a caller is asked to wait while the database is away: a restarted or failed-over
# PostgreSQL answers again within seconds, and the next request after that connects afresh.
DATABASE_RETRY_AFTER_SECONDS = 5


class DatabaseUnavailable(RelinkError):
    """The database refused, dropped or could not lend a connection: nothing the caller sent
    was wrong, and waiting is the fix (503 with ``Retry-After``). ``reason`` says what
    happened in a few words that name no host, user or statement."""

    status_code = 503
    # Not "Something needs fixing": nothing the reader did, nothing for them to fix.
    page_title = "Try again shortly"

    def __init__(self, reason: str) -> None:
        super().__init__(
            f"The database is not answering right now ({reason}). "
            f"Try again in {DATABASE_RETRY_AFTER_SECONDS} seconds."
        )
        self.reason = reason

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)}
