"""Where webhooks may go (public addresses only) and the HTTP session they are sent on,
which checks every address as it connects."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

import aiohttp

from relink.config import get_settings
from relink.errors import InvalidInput
from relink.kit.public_address import (
    GuardedResolver,
    HostPolicy,
    TargetRefused,
    literal_ip,
    resolve,
)
from relink.providers.http import Answer, NoAnswer

# Receivers should answer at once and work later (Standard Webhooks says so too); one that
# takes longer than this is treated as not answering and retried.
WEBHOOK_TIMEOUT_SECONDS = 15.0
CONNECT_TIMEOUT_SECONDS = 10.0
# Parallel sockets in all and to one receiver (the delivery job also caps concurrency).
CONNECTION_LIMIT = 100
CONNECTION_LIMIT_PER_HOST = 20
# Of a receiver's answer we only drain this much (to reuse the connection), and store none.
MAX_RESPONSE_BYTES = 64 * 1024
USER_AGENT = "Relink-Webhooks/0.1"
MAX_URL_LENGTH = 2000
# Saving looks the host up to refuse internal targets at once; a slow resolver must not hold
# the form for long (the send-time check stands behind this one anyway).
SAVE_RESOLVE_TIMEOUT_SECONDS = 3.0


def host_policy(allowed_hosts: Iterable[str] | None = None) -> HostPolicy:
    """The hosts webhooks may reach besides public ones (``RELINK_WEBHOOK_ALLOWED_HOSTS``)."""
    if allowed_hosts is None:
        allowed_hosts = get_settings().webhook_allowed_hosts
    return HostPolicy.allowing(allowed_hosts)


async def validate_url(url: str, *, policy: HostPolicy) -> str:
    """The trimmed URL if Relink may send to it; else ``InvalidInput`` saying what to fix.

    A host that does not resolve yet is accepted: every send resolves and checks again.
    """
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise InvalidInput(f"webhook URL is not a valid URL: {url!r}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"webhook URL must be an http(s) URL with a host, not {url!r}")
    if len(url) > MAX_URL_LENGTH:
        raise InvalidInput(f"webhook URL is longer than {MAX_URL_LENGTH} characters")
    host = parts.hostname
    addresses = [host]
    if literal_ip(host) is None and not policy.allows(host):
        try:
            async with asyncio.timeout(SAVE_RESOLVE_TIMEOUT_SECONDS):
                addresses = await resolve(host, port)
        except (OSError, TimeoutError):
            addresses = []  # not resolvable now: the name-based checks still apply
    refusal = policy.refusal(host, addresses)
    if refusal is not None:
        raise InvalidInput(
            f"webhook URL refused: {refusal}. Relink sends webhooks only to public internet "
            "addresses; use your receiver's public URL (an operator can allow a test host "
            "with RELINK_WEBHOOK_ALLOWED_HOSTS)"
        )
    return url


class WebhookSender:
    """One aiohttp session whose connector reaches only hosts ``policy`` accepts.

    Names are checked by :class:`GuardedResolver` on the very addresses the connector then
    uses; IP literals never reach a resolver, so :meth:`post` checks those itself. Create one
    per delivery run and close it at the end (``async with``).
    """

    def __init__(self, policy: HostPolicy, *, timeout: float = WEBHOOK_TIMEOUT_SECONDS) -> None:
        self.policy = policy
        self._timeout = aiohttp.ClientTimeout(total=timeout, connect=CONNECT_TIMEOUT_SECONDS)
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                resolver=GuardedResolver(self.policy),
                limit=CONNECTION_LIMIT,
                limit_per_host=CONNECTION_LIMIT_PER_HOST,
            )
            # trust_env stays off: an HTTP(S)_PROXY variable must not route around the check.
            self._session = aiohttp.ClientSession(
                timeout=self._timeout, connector=connector, headers={"User-Agent": USER_AGENT}
            )
        return self._session

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Answer:
        """POST exactly ``body`` (the bytes that were signed) to ``url``.

        Raises ``TargetRefused`` when the host is not one webhooks may reach, and
        ``NoAnswer`` when no complete answer came back. Redirects are not followed: a
        receiver that moved must be updated, not guessed at (and a redirect must not lead
        to an internal address).
        """
        host = urlsplit(url).hostname or ""
        if literal_ip(host) is not None:
            refusal = self.policy.refusal(host, [host])
            if refusal is not None:
                raise TargetRefused(refusal)
        try:
            async with self._client().post(
                url, data=body, headers=headers, allow_redirects=False
            ) as response:
                await response.content.read(MAX_RESPONSE_BYTES)
                return Answer(response.status, dict(response.headers), b"")
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, TargetRefused):
                raise exc.os_error from None
            raise NoAnswer(type(exc).__name__) from None
        except (TimeoutError, aiohttp.ClientError) as exc:
            # Only the exception's type: its text may echo the URL, and a Slack URL is a secret.
            raise NoAnswer(type(exc).__name__) from None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> WebhookSender:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()
