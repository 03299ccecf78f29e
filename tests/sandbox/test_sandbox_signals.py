"""The sandbox as a transmitter: registered receivers get a signed signal when a grant is
revoked, by the fault switch or by the user's own "remove access"."""

from __future__ import annotations

import asyncio
import base64
import time

import httpx
from joserfc import jwt
from joserfc.jwk import KeySet

from relink.sandbox.seed import CLIENT_ID, CLIENT_SECRET
from relink.sandbox.transmitter import PUSH, TOKENS_REVOKED
from tests.fixtures.sandbox import SandboxServer
from tests.fixtures.webhook_receiver import WebhookReceiver, running_receiver

WAIT_SECONDS = 30.0


def register(sandbox: SandboxServer, receiver: WebhookReceiver) -> None:
    sandbox.state.transmitter.streams.clear()
    sandbox.state.transmitter.deauthorize_callbacks.clear()
    with sandbox.client(auth=(CLIENT_ID, CLIENT_SECRET)) as http:
        stream = {"delivery": {"delivery_method": PUSH, "url": receiver.endpoint("/risc")}}
        assert http.post("/risc/stream:update", json=stream).status_code == 200
        callback = {"url": receiver.endpoint("/deauth")}
        assert http.post("/apps/deauthorize-callback", json=callback).status_code == 200


async def received(receiver: WebhookReceiver, path: str) -> bytes:
    deadline = time.monotonic() + WAIT_SECONDS
    while not any(r.path == path for r in receiver.requests):
        assert time.monotonic() < deadline, "nothing was pushed"
        await asyncio.sleep(0.05)
    return next(r.body for r in receiver.requests if r.path == path)


def test_registering_a_stream_needs_the_clients_credentials(sandbox: SandboxServer) -> None:
    stream = {"delivery": {"delivery_method": PUSH, "url": "http://127.0.0.1:9/risc"}}
    with sandbox.client(auth=(CLIENT_ID, "wrong")) as http:
        assert http.post("/risc/stream:update", json=stream).status_code == 401


async def test_a_revoke_grant_fault_pushes_a_set_signed_with_the_published_key(
    sandbox: SandboxServer,
) -> None:
    async with running_receiver() as receiver:
        register(sandbox, receiver)
        sandbox.add_fault("revoke_grant", grant="manager@sandbox.test")
        token = await received(receiver, "/risc")

    async with httpx.AsyncClient(base_url=sandbox.url) as http:
        discovery = (await http.get("/.well-known/risc-configuration")).json()
        keys = KeySet.import_key_set((await http.get(discovery["jwks_uri"])).json())
    claims = jwt.decode(token, keys, algorithms=["ES256"]).claims
    assert claims["aud"] == CLIENT_ID and claims["iss"] == discovery["issuer"]
    assert claims["events"][TOKENS_REVOKED]["subject"]["sub"] == "sbx-user-1001"


async def test_removing_access_on_the_account_page_revokes_and_signals_the_meta_way(
    sandbox: SandboxServer,
) -> None:
    tokens = sandbox.connect("harbor@sandbox.test")
    async with running_receiver() as receiver:
        register(sandbox, receiver)
        async with httpx.AsyncClient(base_url=sandbox.url) as http:
            form = {"email": "harbor@sandbox.test", "password": "sandbox", "decision": "remove"}
            assert (await http.post("/account/connections", data=form)).status_code == 200
        body = await received(receiver, "/deauth")

    signed = body.decode().removeprefix("signed_request=")
    payload = signed.split(".")[1]
    assert b'"user_id":"sbx-user-1002"' in base64.urlsafe_b64decode(payload + "==")
    assert sandbox.refresh(tokens["refresh_token"]).status_code == 400
