"""The one outbound HTTP session (aiohttp): timeouts, connection limits, no secret in logs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

# A provider that has not answered in this long is treated as not answering (transient).
REQUEST_TIMEOUT_SECONDS = 30.0
# Token calls wait longer: a refresh answer may carry the only copy of a rotated refresh token,
# so giving up on a slow one can cost the grant. Three times a data call's patience; a token
# endpoint slower than this is down. Token calls never run while a web request waits.
TOKEN_REQUEST_TIMEOUT_SECONDS = 90.0
CONNECT_TIMEOUT_SECONDS = 10.0
# Enough parallel sockets for a sweep of thousands of data sources, few enough to be polite.
CONNECTION_LIMIT = 200
CONNECTION_LIMIT_PER_HOST = 50


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class NoAnswer(Exception):
    """The request may or may not have reached the provider: a timeout or a lost connection."""


class HttpClient:
    """A shared aiohttp session; create once per process (or per test) and close at the end.

    Data calls give up after ``timeout``; token calls (``token_call=True``) after the longer
    ``token_timeout``, which is never shorter than ``timeout``.
    """

    def __init__(
        self,
        *,
        timeout: float = REQUEST_TIMEOUT_SECONDS,
        token_timeout: float = TOKEN_REQUEST_TIMEOUT_SECONDS,
    ) -> None:
        connect = CONNECT_TIMEOUT_SECONDS
        self._timeout = aiohttp.ClientTimeout(total=timeout, connect=connect)
        self._token_timeout = aiohttp.ClientTimeout(
            total=max(token_timeout, timeout), connect=connect
        )
        self._session: aiohttp.ClientSession | None = None

    @property
    def token_timeout_seconds(self) -> float:
        """How long a token call waits for its answer."""
        total = self._token_timeout.total
        assert total is not None
        return total

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=CONNECTION_LIMIT, limit_per_host=CONNECTION_LIMIT_PER_HOST
            )
            self._session = aiohttp.ClientSession(
                timeout=self._timeout,
                connector=connector,
                headers={"User-Agent": "Relink/0.1 (+connection health)"},
            )
        return self._session

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
        json: Any = None,
        token_call: bool = False,
    ) -> Answer:
        """Send one request; raise ``NoAnswer`` when no complete answer came back.

        ``token_call``: an OAuth token-endpoint call, which waits the longer token timeout.
        """
        timeout = self._token_timeout if token_call else self._timeout
        try:
            async with self._client().request(
                method, url, headers=headers, data=data, json=json, timeout=timeout
            ) as response:
                body = await response.read()
                return Answer(response.status, dict(response.headers), body)
        except (TimeoutError, aiohttp.ClientError) as exc:
            # Only the exception's type: its text may echo a URL with a key in the query.
            raise NoAnswer(type(exc).__name__) from None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
