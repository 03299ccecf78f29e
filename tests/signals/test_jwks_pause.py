"""At most one fetch of an issuer's key set per pause, whatever the issuer answers: forged
tokens with made-up key ids, one after another or all at once, cannot make Relink hammer it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from relink.config import Settings
from relink.models.base import utcnow
from relink.providers.http import HttpClient
from relink.sandbox.seed import CLIENT_ID
from relink.signals.jwks import REFETCH_PAUSE, JwksCache
from relink.signals.refusal import SignalRefused
from relink.signals.risc import VerifiedSet, verify_set
from tests.fixtures.jwks_server import Answering, JwksServer
from tests.signals.issuers import catalog_at, forged_key, security_event_token

FORGED_TOKENS = 30
# As in the report: the forged tokens came 0.1 s apart.
BETWEEN_TOKENS = 0.1
# A hanging issuer is given up on quickly here; the production default is FETCH_TIMEOUT_SECONDS.
FETCH_TIMEOUT = 0.5


class Ticking:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def http() -> AsyncIterator[HttpClient]:
    client = HttpClient(timeout=2.0)
    yield client
    await client.close()


@pytest.fixture
def ticking() -> Ticking:
    return Ticking()


@pytest.fixture
def cache(ticking: Ticking) -> JwksCache:
    return JwksCache(clock=ticking, fetch_timeout=FETCH_TIMEOUT)


async def verify(
    token: bytes, *, server: JwksServer, http: HttpClient, cache: JwksCache
) -> VerifiedSet:
    return await verify_set(
        token,
        catalog=catalog_at(server),
        settings=Settings(),
        http=http,
        cache=cache,
        now=utcnow(),
    )


def forged(server: JwksServer, n: int) -> bytes:
    return security_event_token(forged_key(f"made-up-{n}"), issuer=server.url, audience=CLIENT_ID)


def genuine(server: JwksServer) -> bytes:
    return security_event_token(server.key, issuer=server.url, audience=CLIENT_ID)


# Each of these failures is one request per fetch; a dropped connection is retried once by the
# HTTP client (below).
ONE_REQUEST_A_FETCH = [Answering.UNAVAILABLE, Answering.NOT_A_KEY_SET, Answering.HANGING]


@pytest.mark.parametrize("answering", ONE_REQUEST_A_FETCH)
async def test_thirty_forged_tokens_make_one_fetch_whatever_failure_the_issuer_answers(
    answering: Answering,
    jwks_server: JwksServer,
    http: HttpClient,
    cache: JwksCache,
    ticking: Ticking,
) -> None:
    jwks_server.answering = answering

    for n in range(FORGED_TOKENS):
        with pytest.raises(SignalRefused) as refused:
            await verify(forged(jwks_server, n), server=jwks_server, http=http, cache=cache)
        assert refused.value.err == "invalid_key"
        ticking.now += BETWEEN_TOKENS

    assert jwks_server.requests == 1


async def test_thirty_forged_tokens_make_one_fetch_while_the_issuer_drops_the_connection(
    jwks_server: JwksServer, http: HttpClient, cache: JwksCache, ticking: Ticking
) -> None:
    jwks_server.answering = Answering.DROPPING

    for n in range(FORGED_TOKENS):
        with pytest.raises(SignalRefused) as refused:
            await verify(forged(jwks_server, n), server=jwks_server, http=http, cache=cache)
        assert refused.value.err == "invalid_key"
        ticking.now += BETWEEN_TOKENS

    # One fetch: aiohttp sends an idempotent request once more when the connection it went out
    # on closes without an answer (RFC 9112 section 9.3.1), and then gives up.
    assert jwks_server.requests == 2


async def test_the_issuer_is_asked_again_once_the_pause_is_over(
    jwks_server: JwksServer, http: HttpClient, cache: JwksCache, ticking: Ticking
) -> None:
    jwks_server.answering = Answering.UNAVAILABLE
    start = ticking.now
    for n, at in enumerate([start, start + REFETCH_PAUSE - BETWEEN_TOKENS]):
        ticking.now = at
        with pytest.raises(SignalRefused):
            await verify(forged(jwks_server, n), server=jwks_server, http=http, cache=cache)
    jwks_server.answering = Answering.KEYS  # the issuer is back

    ticking.now = start + REFETCH_PAUSE
    verified = await verify(genuine(jwks_server), server=jwks_server, http=http, cache=cache)

    assert verified.providers == ("sandbox",)
    assert jwks_server.requests == 2


async def test_a_refusal_inside_the_pause_says_what_the_issuer_last_answered(
    jwks_server: JwksServer, http: HttpClient, cache: JwksCache, ticking: Ticking
) -> None:
    jwks_server.answering = Answering.UNAVAILABLE
    with pytest.raises(SignalRefused):
        await verify(forged(jwks_server, 0), server=jwks_server, http=http, cache=cache)
    ticking.now += 10

    with pytest.raises(SignalRefused) as refused:
        await verify(forged(jwks_server, 1), server=jwks_server, http=http, cache=cache)

    assert refused.value.err == "invalid_key"
    assert "answered 503" in refused.value.description
    assert "not asked again for 20 s" in refused.value.description


async def test_tokens_that_arrive_during_a_fetch_share_it(
    jwks_server: JwksServer, http: HttpClient, cache: JwksCache
) -> None:
    jwks_server.answering = Answering.UNAVAILABLE
    jwks_server.hold.clear()
    tokens = [forged(jwks_server, n) for n in range(FORGED_TOKENS)]
    # Every verification runs up to its wait for the key set before the server is reached.
    waiting = [
        asyncio.ensure_future(verify(t, server=jwks_server, http=http, cache=cache)) for t in tokens
    ]
    await jwks_server.reached.wait()

    jwks_server.hold.set()
    outcomes = await asyncio.gather(*waiting, return_exceptions=True)

    assert all(isinstance(o, SignalRefused) and o.err == "invalid_key" for o in outcomes)
    assert jwks_server.requests == 1


async def test_the_last_key_set_stays_in_use_while_the_issuer_is_down(
    jwks_server: JwksServer, http: HttpClient, cache: JwksCache, ticking: Ticking
) -> None:
    await verify(genuine(jwks_server), server=jwks_server, http=http, cache=cache)
    jwks_server.answering = Answering.UNAVAILABLE
    ticking.now += 2 * 3600  # past the cache's hour: the set is asked for again

    verified = await verify(genuine(jwks_server), server=jwks_server, http=http, cache=cache)

    assert verified.providers == ("sandbox",)
    assert jwks_server.requests == 2
