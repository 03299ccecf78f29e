"""The two error shapes the sandbox speaks, and the exceptions that carry them.

Relink's catalog entry for the sandbox maps exactly these shapes; change them together.
- OAuth endpoints: RFC 6749 section 5.2 `{"error": "...", "error_description": "..."}`.
- Data API: `{"error": {"code": "...", "message": "..."}}`, Google-style status codes.
"""

from __future__ import annotations

import json
from typing import Literal

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

Surface = Literal["oauth", "api"]

# RFC 6749 asks token endpoint answers not to be cached.
NO_STORE_HEADERS = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class ApiError(Exception):
    def __init__(
        self, code: str, message: str, status_code: int, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status_code = status_code
        self.headers = headers or {}


def unauthenticated(message: str = "Request had invalid authentication credentials.") -> ApiError:
    return ApiError("UNAUTHENTICATED", message, 401, {"WWW-Authenticate": "Bearer"})


def token_expired() -> ApiError:
    return ApiError(
        "TOKEN_EXPIRED",
        "The access token expired; refresh it and retry.",
        401,
        {"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


def invalid_api_key() -> ApiError:
    return ApiError("INVALID_API_KEY", "The API key is not valid.", 401)


def permission_denied(message: str) -> ApiError:
    return ApiError("PERMISSION_DENIED", message, 403)


def account_not_found(account_id: str) -> ApiError:
    return ApiError("ACCOUNT_NOT_FOUND", f"Account {account_id} was not found.", 404)


def invalid_argument(message: str) -> ApiError:
    return ApiError("INVALID_ARGUMENT", message, 400)


def oauth_error_response(
    error: str, description: str, status_code: int, headers: dict[str, str] | None = None
) -> Response:
    body = json.dumps({"error": error, "error_description": description})
    return Response(
        body,
        status_code=status_code,
        media_type="application/json",
        headers={**NO_STORE_HEADERS, **(headers or {})},
    )


async def render_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return JSONResponse(
        {"error": {"code": exc.code, "message": exc.message}},
        status_code=exc.status_code,
        headers=exc.headers,
    )
