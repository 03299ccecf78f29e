"""The small Starlette adapter Authlib lacks, modelled on its Flask integration.

Authlib's server is synchronous and reads the request body on demand; Starlette reads it
asynchronously. So endpoints first read the form (`read_request`), then hand Authlib a
`ParsedRequest` whose body is already in memory.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from authlib.oauth2.rfc6749 import (
    AuthorizationServer,
    JsonPayload,
    JsonRequest,
    OAuth2Payload,
    OAuth2Request,
)
from starlette.datastructures import FormData, Headers, QueryParams
from starlette.requests import Request
from starlette.responses import Response

# Authlib refuses non-HTTPS URLs (except loopback) when it builds a request. The sandbox speaks
# plain HTTP on purpose (demo, tests, container networks), so Authlib gets this URL for its
# check and the real one afterwards; nothing else in the flows we use reads it.
_SECURE_PLACEHOLDER_URL = "https://sandbox.invalid/"


@dataclass(frozen=True)
class ParsedRequest:
    method: str
    url: str
    headers: Headers
    query: QueryParams
    form: FormData


async def read_request(request: Request) -> ParsedRequest:
    form = await request.form() if request.method == "POST" else FormData()
    return ParsedRequest(
        method=request.method,
        url=str(request.url),
        headers=request.headers,
        query=request.query_params,
        form=form,
    )


class ParsedPayload(OAuth2Payload):  # type: ignore[misc]
    def __init__(self, parsed: ParsedRequest) -> None:
        self._parsed = parsed

    @property
    def data(self) -> dict[str, Any]:
        # Like Flask's request.values: the query string wins over the form for a repeated key.
        merged: dict[str, Any] = {k: v for k, v in self._parsed.form.items() if isinstance(v, str)}
        merged.update(self._parsed.query.items())
        return merged

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        values: defaultdict[str, list[str]] = defaultdict(list)
        for key, value in self._parsed.query.multi_items():
            values[key].append(value)
        for key, item in self._parsed.form.multi_items():
            if isinstance(item, str):
                values[key].append(item)
        return values


class ParsedOAuth2Request(OAuth2Request):  # type: ignore[misc]
    def __init__(self, parsed: ParsedRequest) -> None:
        super().__init__(method=parsed.method, uri=_SECURE_PLACEHOLDER_URL, headers=parsed.headers)
        self.uri = parsed.url
        self._parsed = parsed
        self.payload = ParsedPayload(parsed)

    @property
    def args(self) -> QueryParams:
        return self._parsed.query

    @property
    def form(self) -> FormData:
        return self._parsed.form


class ParsedJsonPayload(JsonPayload):  # type: ignore[misc]
    def __init__(self, parsed: ParsedRequest) -> None:
        self._parsed = parsed

    @property
    def data(self) -> dict[str, Any]:
        return {k: v for k, v in self._parsed.form.items() if isinstance(v, str)}


class StarletteAuthorizationServer(AuthorizationServer):  # type: ignore[misc]
    """Implements the framework hooks of Authlib's AuthorizationServer for Starlette."""

    def create_oauth2_request(self, request: ParsedRequest | OAuth2Request) -> OAuth2Request:
        if isinstance(request, OAuth2Request):
            return request
        return ParsedOAuth2Request(request)

    def create_json_request(self, request: ParsedRequest) -> JsonRequest:
        json_request = JsonRequest(request.method, request.url, request.headers)
        json_request.payload = ParsedJsonPayload(request)
        return json_request

    def handle_response(
        self, status_code: int, payload: Any, headers: list[tuple[str, str]]
    ) -> Response:
        if isinstance(payload, dict):
            if payload.get("error") == "invalid_client":
                # Authlib answers 400 when the client id came in the form; the sandbox's
                # contract is 401 for every failed client authentication.
                status_code = 401
            payload = json.dumps(payload)
        return Response(payload, status_code=status_code, headers=dict(headers))

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        # Authlib's signals feed Flask/Django signal systems; the sandbox has no listeners.
        return None
