"""The refusals of a request carrying a token: each says what to fix, none repeats the value."""

from __future__ import annotations

from relink.api_tokens.values import EXPECTED_FORM
from relink.errors import RelinkError

# RFC 6750: a 401 names the scheme the caller should use.
_CHALLENGE = 'Bearer realm="relink"'


class TokenNotAccepted(RelinkError):
    """401: the request's credentials do not let it in."""

    status_code = 401
    code = "invalid_token"

    @property
    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": f'{_CHALLENGE}, error="invalid_token"'}


class MalformedAuthorization(TokenNotAccepted):
    code = "malformed_authorization"

    def __init__(self) -> None:
        super().__init__(
            f"the Authorization header is not an API token; send it as '{EXPECTED_FORM}' "
            "(create a token under Settings, API tokens, or with `relink tokens create`)"
        )


class UnknownToken(TokenNotAccepted):
    code = "unknown_token"

    def __init__(self) -> None:
        super().__init__("this API token is not known; check that it was copied whole")


class RevokedToken(TokenNotAccepted):
    code = "token_revoked"

    def __init__(self) -> None:
        super().__init__("this API token was revoked; create a new one")


class ExpiredToken(TokenNotAccepted):
    code = "token_expired"

    def __init__(self) -> None:
        super().__init__("this API token has expired; create a new one")


class DeactivatedUser(TokenNotAccepted):
    code = "user_deactivated"

    def __init__(self) -> None:
        super().__init__("the user of this API token is deactivated; their tokens no longer work")


class ReadOnlyToken(RelinkError):
    """403: a read-only token asked to change something."""

    status_code = 403
    code = "token_read_only"

    def __init__(self, method: str) -> None:
        super().__init__(
            f"this API token is read-only: it may only read (GET, HEAD, OPTIONS), not {method}; "
            "use a read-write token to make changes"
        )


class ServiceTokenOutsideItsUse(RelinkError):
    """403: a service token asked for something its permissions do not cover."""

    status_code = 403
    code = "token_permission_missing"

    def __init__(self, needed: str, held: str) -> None:
        super().__init__(
            f"this service token may {held or 'do nothing'}; this request needs {needed!r}: "
            "create a service token with that permission (relink tokens create --service)"
        )


class ServiceTokenNotHere(RelinkError):
    """403: a service token on an endpoint for people (it belongs to no user)."""

    status_code = 403
    code = "service_token_not_accepted"

    def __init__(self) -> None:
        super().__init__(
            "a service token is accepted only by the importer endpoints (credentials, failures, "
            "imports of a data source and the importer's list); use a personal token here"
        )
