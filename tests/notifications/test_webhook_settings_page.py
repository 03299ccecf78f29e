"""Settings, Webhooks: a channel for chosen clients, its URL kept secret, a test on demand."""

from __future__ import annotations

import re

import httpx

from tests.fixtures.demo import Demo

SLACK_URL = "https://hooks.slack.com/services/T000/B000/SECRETPARTOFTHEURL"


def _endpoint_id(admin: httpx.Client) -> str:
    listing = admin.get("/settings/webhooks").text
    found = re.search(r'href="/settings/webhooks/(\d+)"', listing)
    assert found, "the listing links to the endpoint's delivery log"
    return found.group(1)


def _add(admin: httpx.Client, **form: object) -> httpx.Response:
    return admin.post("/settings/webhooks", data=form)


def test_a_slack_channel_for_one_client_says_which_client_it_is_for(
    admin: httpx.Client, demo: Demo
) -> None:
    client = demo.clients[0]

    added = _add(admin, url=SLACK_URL, payload_format="slack", client_ids=[str(client.id)])

    assert added.status_code == 200
    log = admin.get(f"/settings/webhooks/{_endpoint_id(admin)}")
    assert f"for {client.name}" in log.text


def test_an_endpoint_for_every_client_says_so(admin: httpx.Client) -> None:
    _add(admin, url="https://hooks.example/relink")

    log = admin.get(f"/settings/webhooks/{_endpoint_id(admin)}")

    assert "every client" in log.text


def test_the_form_offers_the_agencys_clients(admin: httpx.Client, demo: Demo) -> None:
    page = admin.get("/settings/webhooks")

    for client in demo.clients:
        assert f'name="client_ids" value="{client.id}"' in page.text


def test_a_client_of_no_agency_is_refused_with_the_form_kept(admin: httpx.Client) -> None:
    answer = _add(admin, url="https://hooks.example/x", client_ids=[str(2**62)])

    assert answer.status_code == 422
    assert "not found: choose clients of this agency" in answer.text


def test_send_a_test_event_puts_it_in_the_delivery_log(admin: httpx.Client) -> None:
    _add(admin, url="https://hooks.example/relink")
    endpoint_id = _endpoint_id(admin)

    sent = admin.post(f"/settings/webhooks/{endpoint_id}/test", follow_redirects=True)

    assert sent.status_code == 200 and "Sent:" in sent.text
    assert "<code>webhook.test</code>" in sent.text
