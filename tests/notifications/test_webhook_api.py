"""The webhooks of /api/v1 over real HTTP: an admin lists, creates, rotates, tests, resends,
reads the delivery log and deletes; nobody else may."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import Depends
from standardwebhooks.webhooks import Webhook

from relink.api_v1_resources import ROUTERS
from relink.app import create_app
from relink.auth.csrf import csrf_protect
from relink.config import Settings, get_settings
from relink.db import Database
from relink.demo import DEMO_PASSWORD
from relink.notifications.webhook_endpoints import router
from tests.fixtures.app_server import signed_in
from tests.fixtures.demo import Demo
from tests.fixtures.server import bound_socket, serve_in_thread
from tests.fixtures.webhook_receiver import WebhookReceiver

SLACK_URL = "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX"
# The app delivers in its own thread: how long a test waits for a delivery to land.
DELIVERY_WAIT_SECONDS = 30.0


@pytest.fixture
def api_url(
    demo: Demo, database_url: str, secret_key: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """The app, serving the webhooks router as app.py serves /api/v1's routers."""
    monkeypatch.setenv("RELINK_SECRET_KEYS", secret_key)
    monkeypatch.setenv("RELINK_EMBEDDED_WORKER", "false")
    get_settings.cache_clear()
    app = create_app(database=Database(database_url), settings=Settings())
    if router not in ROUTERS:
        # Until app.py serves it through api_v1_resources.ROUTERS, as it will.
        app.include_router(router, dependencies=[Depends(csrf_protect)])
    sock = bound_socket()
    with serve_in_thread(app, sock=sock) as running:
        yield running.url


@pytest.fixture
def admin(api_url: str) -> Iterator[httpx.Client]:
    client = signed_in(api_url, "admin@demo.relink.test", DEMO_PASSWORD)
    yield client
    client.close()


def _created(admin: httpx.Client, **body: Any) -> dict[str, Any]:
    answer = admin.post("/api/v1/webhooks", json=body)
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


async def _log_until(admin: httpx.Client, endpoint_id: int, done: Any) -> list[dict[str, Any]]:
    """The delivery log, read until ``done(items)`` holds (the app delivers on its own)."""
    deadline = time.monotonic() + DELIVERY_WAIT_SECONDS
    while True:
        items: list[dict[str, Any]] = admin.get(
            f"/api/v1/webhooks/{endpoint_id}/deliveries"
        ).json()["items"]
        if done(items) or time.monotonic() > deadline:
            return items
        # Yield to the receiver, which runs on this test's event loop.
        await asyncio.sleep(0.05)


def test_an_admin_creates_an_endpoint_and_sees_its_secret_only_once(
    admin: httpx.Client,
) -> None:
    created = _created(admin, url="https://hooks.example/relink", events=["import.failed"])

    assert created["secret"].startswith("whsec_")
    listed = admin.get("/api/v1/webhooks").json()
    [shown] = [e for e in listed["items"] if e["id"] == created["id"]]
    assert "secret" not in shown
    assert created["secret"] not in admin.get(f"/api/v1/webhooks/{created['id']}").text
    assert shown["events"] == ["import.failed"] and shown["client_ids"] == []


def test_a_slack_url_is_never_shown_in_full_and_has_no_secret(admin: httpx.Client) -> None:
    created = _created(admin, url=SLACK_URL, format="slack")

    assert created["secret"] is None
    assert created["url"] == "https://hooks.slack.com/…"
    assert "XXXXXXXX" not in admin.get("/api/v1/webhooks").text
    rotated = admin.post(f"/api/v1/webhooks/{created['id']}/rotate-secret")
    assert rotated.status_code == 409


def test_staff_and_scripts_without_a_session_are_refused(api_url: str) -> None:
    staff = signed_in(api_url, "staff@demo.relink.test", DEMO_PASSWORD)
    assert staff.get("/api/v1/webhooks").status_code == 403
    assert staff.post("/api/v1/webhooks", json={"url": "https://x.example"}).status_code == 403
    staff.close()
    with httpx.Client(base_url=api_url) as anonymous:
        assert anonymous.get("/api/v1/webhooks").status_code == 401


def test_an_unknown_event_a_foreign_client_or_a_bad_url_is_a_422_that_says_what_to_fix(
    admin: httpx.Client,
) -> None:
    unknown = admin.post("/api/v1/webhooks", json={"url": "https://a.example", "events": ["x"]})
    foreign = admin.post(
        "/api/v1/webhooks", json={"url": "https://a.example", "client_ids": [2**62]}
    )
    internal = admin.post("/api/v1/webhooks", json={"url": "http://10.0.0.5/hook"})

    assert (unknown.status_code, foreign.status_code, internal.status_code) == (422, 422, 422)
    assert f"client {2**62} not found" in foreign.text.lower()
    assert "public internet" in internal.text
    assert admin.get("/api/v1/webhooks").json()["items"] == []


def test_ids_and_limits_are_bounded(admin: httpx.Client) -> None:
    assert admin.get("/api/v1/webhooks", params={"limit": 101}).status_code == 422
    assert admin.get("/api/v1/webhooks", params={"cursor": "not-ours"}).status_code == 422
    assert admin.get(f"/api/v1/webhooks/{2**63}").status_code == 422
    assert admin.get(f"/api/v1/webhooks/{2**63 - 1}").status_code == 404
    assert admin.delete(f"/api/v1/webhooks/{2**63 - 1}").status_code == 404


def test_the_list_pages_with_a_cursor(admin: httpx.Client) -> None:
    ids = [_created(admin, url=f"https://hooks.example/{n}")["id"] for n in range(3)]

    first = admin.get("/api/v1/webhooks", params={"limit": 2}).json()
    rest = admin.get("/api/v1/webhooks", params={"limit": 2, "cursor": first["next_cursor"]})

    assert [e["id"] for e in first["items"]] + [e["id"] for e in rest.json()["items"]] == ids
    assert rest.json()["next_cursor"] is None


async def test_a_test_event_arrives_signed_and_is_in_the_delivery_log(
    admin: httpx.Client, receiver: WebhookReceiver
) -> None:
    created = _created(admin, url=receiver.endpoint())

    sent = admin.post(f"/api/v1/webhooks/{created['id']}/test")

    assert sent.status_code == 202 and sent.json()["event"] == "webhook.test"
    log = await _log_until(admin, created["id"], lambda items: items[0]["status"] != "pending")
    assert (log[0]["status"], log[0]["attempts"], log[0]["last_status_code"]) == (
        "delivered",
        1,
        200,
    )
    [request] = receiver.requests
    event = Webhook(created["secret"]).verify(request.body, dict(request.headers))
    assert event["type"] == "webhook.test" and event["id"] == log[0]["event_id"]


async def test_after_a_rotation_deliveries_verify_with_the_old_and_the_new_secret(
    admin: httpx.Client, receiver: WebhookReceiver
) -> None:
    created = _created(admin, url=receiver.endpoint())

    rotated = admin.post(f"/api/v1/webhooks/{created['id']}/rotate-secret").json()
    admin.post(f"/api/v1/webhooks/{created['id']}/test")

    await _log_until(admin, created["id"], lambda items: items[0]["status"] != "pending")
    [request] = receiver.requests
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    for secret in (created["secret"], rotated["secret"]):
        assert Webhook(secret).verify(request.body, dict(request.headers))
    shown = admin.get(f"/api/v1/webhooks/{created['id']}").json()
    assert shown["previous_secret_signs_until"] == rotated["previous_secret_signs_until"]


async def test_a_failed_delivery_resent_after_the_receiver_is_fixed_arrives_with_its_id(
    admin: httpx.Client, receiver: WebhookReceiver
) -> None:
    created = _created(admin, url=receiver.endpoint())
    receiver.status = 500
    admin.post(f"/api/v1/webhooks/{created['id']}/test")
    [failed] = await _log_until(admin, created["id"], lambda items: items[0]["attempts"] == 1)
    assert (failed["status"], failed["last_status_code"]) == ("pending", 500)

    receiver.status = 200
    resent = admin.post(f"/api/v1/webhooks/{created['id']}/deliveries/{failed['id']}/resend")

    assert resent.status_code == 202
    [done] = await _log_until(admin, created["id"], lambda items: items[0]["status"] == "delivered")
    assert (done["status"], done["attempts"]) == ("delivered", 2)
    assert [r.headers["webhook-id"] for r in receiver.requests] == [failed["event_id"]] * 2


def test_a_delivery_of_another_endpoint_is_not_found(admin: httpx.Client) -> None:
    one = _created(admin, url="https://hooks.example/one")
    other = _created(admin, url="https://hooks.example/other")
    delivery = admin.post(f"/api/v1/webhooks/{one['id']}/test").json()

    answer = admin.post(f"/api/v1/webhooks/{other['id']}/deliveries/{delivery['id']}/resend")

    assert answer.status_code == 404


def test_deleting_an_endpoint_removes_it_and_its_log(admin: httpx.Client) -> None:
    created = _created(admin, url="https://hooks.example/relink")
    admin.post(f"/api/v1/webhooks/{created['id']}/test")

    assert admin.delete(f"/api/v1/webhooks/{created['id']}").status_code == 204

    assert admin.get(f"/api/v1/webhooks/{created['id']}").status_code == 404
    assert admin.get(f"/api/v1/webhooks/{created['id']}/deliveries").status_code == 404


def test_every_operation_has_a_readable_id_and_declares_its_problems(api_url: str) -> None:
    document = httpx.get(f"{api_url}/openapi.json").json()

    operations = {
        op["operationId"]: op
        for path, item in document["paths"].items()
        if path.startswith("/api/v1/webhooks")
        for op in item.values()
    }
    assert set(operations) == {
        "list_webhooks",
        "create_webhook",
        "get_webhook",
        "delete_webhook",
        "rotate_webhook_secret",
        "send_webhook_test",
        "list_webhook_deliveries",
        "resend_webhook_delivery",
    }
    for operation in operations.values():
        assert {"401", "403", "422"} <= set(operation["responses"])
        assert "application/problem+json" in operation["responses"]["403"]["content"]
