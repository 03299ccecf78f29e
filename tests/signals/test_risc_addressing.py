"""A SET that cannot be ours is refused on what it says about itself, before any key is
fetched: an issuer at which we have no OAuth client, an audience that is not our client id, a
stale one. Only the providers whose client it names are checked."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import SecretStr

from relink.config import OAuthClient, Settings
from relink.models.base import utcnow
from relink.providers.http import HttpClient
from relink.sandbox.seed import CLIENT_ID
from relink.signals.jwks import JwksCache
from relink.signals.refusal import SignalRefused
from relink.signals.risc import VerifiedSet, verify_set
from tests.fixtures.jwks_server import JwksServer
from tests.signals.issuers import (
    GOOGLE_ISSUER,
    catalog_at,
    forged_key,
    security_event_token,
)


@pytest.fixture
async def http() -> AsyncIterator[HttpClient]:
    client = HttpClient(timeout=2.0)
    yield client
    await client.close()


def client(client_id: str) -> OAuthClient:
    return OAuthClient(client_id=client_id, client_secret=SecretStr(f"{client_id}-secret"))


async def verify(
    token: bytes, *, server: JwksServer, http: HttpClient, settings: Settings | None = None
) -> VerifiedSet:
    return await verify_set(
        token,
        catalog=catalog_at(server),
        settings=settings or Settings(),
        http=http,
        cache=JwksCache(),
        now=utcnow(),
    )


async def refused(
    token: bytes, *, server: JwksServer, http: HttpClient, settings: Settings | None = None
) -> SignalRefused:
    with pytest.raises(SignalRefused) as caught:
        await verify(token, server=server, http=http, settings=settings)
    return caught.value


async def test_a_set_from_an_issuer_with_no_configured_client_is_refused_before_any_fetch(
    jwks_server: JwksServer, http: HttpClient
) -> None:
    token = security_event_token(
        forged_key("made-up"), issuer=GOOGLE_ISSUER, audience="123.apps.googleusercontent.com"
    )

    refusal = await refused(token, server=jwks_server, http=http)

    assert refusal.err == "invalid_issuer"
    assert refusal.description == "no OAuth client is configured at this issuer's provider"
    assert jwks_server.requests == 0


async def test_a_set_for_another_audience_is_refused_before_any_fetch(
    jwks_server: JwksServer, http: HttpClient
) -> None:
    token = security_event_token(
        forged_key("made-up"), issuer=jwks_server.url, audience="someone-elses-client"
    )

    refusal = await refused(token, server=jwks_server, http=http)

    assert refusal.err == "invalid_audience"
    assert jwks_server.requests == 0


@pytest.mark.parametrize("audience", [None, [], 42, {"client": CLIENT_ID}, [{"id": CLIENT_ID}]])
async def test_an_audience_that_names_no_client_is_refused_before_any_fetch(
    audience: Any, jwks_server: JwksServer, http: HttpClient
) -> None:
    token = security_event_token(forged_key("made-up"), issuer=jwks_server.url, audience=audience)

    refusal = await refused(token, server=jwks_server, http=http)

    assert refusal.err == "invalid_audience"
    assert jwks_server.requests == 0


async def test_a_stale_set_is_refused_before_any_fetch(
    jwks_server: JwksServer, http: HttpClient
) -> None:
    token = security_event_token(
        forged_key("made-up"),
        issuer=jwks_server.url,
        audience=CLIENT_ID,
        iat=int(time.time()) - 3600,
    )

    refusal = await refused(token, server=jwks_server, http=http)

    assert refusal.err == "invalid_request"
    assert jwks_server.requests == 0


async def test_a_set_acts_only_for_the_providers_whose_client_it_names(
    jwks_server: JwksServer, http: HttpClient
) -> None:
    # One issuer (Google) for three providers; our app is registered at two, with two ids.
    settings = Settings(
        oauth_clients={
            "google_ads": client("ads.apps.googleusercontent.com"),
            "google_analytics": client("ga.apps.googleusercontent.com"),
        }
    )
    token = security_event_token(
        jwks_server.key, issuer=GOOGLE_ISSUER, audience=["ads.apps.googleusercontent.com"]
    )

    verified = await verify(token, server=jwks_server, http=http, settings=settings)

    assert verified.providers == ("google_ads",)
