"""Settings pages over HTTP: my e-mail preference; webhooks, users and the outbox for admins."""

from __future__ import annotations

import asyncio
import re
import time

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.demo import DEMO_PASSWORD
from relink.models import EmailPreference, OutboxEmail, User
from relink.users.preferences import visible_clients
from tests.fixtures.app_server import signed_in
from tests.fixtures.demo import Demo
from tests.fixtures.sandbox import SandboxServer
from tests.fixtures.sweeps import sweep_now

MANAGER = "manager@sandbox.test"
# A public-looking name that never resolves (RFC 2606 .invalid): every delivery attempt fails
# at once, and no internal address is involved (those are refused when saved).
UNREACHABLE_HOOK = "https://receiver.relink.invalid/hook"
SECRET = re.compile(r"whsec_[A-Za-z0-9+/=]{20,}")


@pytest.fixture
def staff(app_url: str) -> httpx.Client:
    return signed_in(app_url, "staff@demo.relink.test", DEMO_PASSWORD)


def _add_webhook(
    admin: httpx.Client, url: str = UNREACHABLE_HOOK, **form: object
) -> httpx.Response:
    data = {"url": url, "payload_format": "json", "events": ["data_source.disconnected"], **form}
    return admin.post("/settings/webhooks", data=data)


def _endpoint_id(page: str) -> int:
    found = re.search(r'href="/settings/webhooks/(\d+)"', page)
    assert found, "the page links to the endpoint"
    return int(found.group(1))


async def test_saving_the_email_preference_shows_a_banner_and_is_kept(
    staff: httpx.Client, session: AsyncSession, demo: Demo
) -> None:
    answer = staff.post(
        "/settings/notifications", data={"email_preference": "daily_digest"}, follow_redirects=True
    )

    assert answer.status_code == 200
    assert "Saved. You will get one e-mail a day." in answer.text
    assert re.search(r'value="daily_digest"\s+checked', answer.text)
    chosen = await session.scalar(select(User.email_preference).where(User.id == demo.staff.id))
    assert chosen is EmailPreference.DAILY_DIGEST


async def test_an_unknown_email_preference_changes_nothing(
    staff: httpx.Client, session: AsyncSession, demo: Demo
) -> None:
    answer = staff.post("/settings/notifications", data={"email_preference": "hourly"})

    assert answer.status_code == 422
    chosen = await session.scalar(select(User.email_preference).where(User.id == demo.staff.id))
    assert chosen is EmailPreference.IMMEDIATELY


@pytest.mark.parametrize(
    "path",
    ["/settings/webhooks", "/settings/webhooks/verify", "/settings/users", "/settings/outbox"],
)
async def test_admin_settings_do_not_exist_for_staff(staff: httpx.Client, path: str) -> None:
    assert staff.get(path).status_code == 404


async def test_staff_see_only_their_own_settings_tab(staff: httpx.Client) -> None:
    page = staff.get("/settings/notifications").text

    assert "My notifications" in page
    assert 'href="/settings/webhooks"' not in page and 'href="/settings/users"' not in page


async def test_a_new_webhook_shows_its_secret_once_and_never_again(admin: httpx.Client) -> None:
    created = _add_webhook(admin)

    assert created.status_code == 200
    secrets = SECRET.findall(created.text)
    assert len(set(secrets)) == 1
    assert 'href="/settings/webhooks/verify"' in created.text
    endpoint_id = _endpoint_id(created.text)
    for path in ("/settings/webhooks", f"/settings/webhooks/{endpoint_id}"):
        page = admin.get(path)
        assert page.status_code == 200 and UNREACHABLE_HOOK in page.text
        assert secrets[0] not in page.text and not SECRET.search(page.text)


async def test_the_endpoint_list_shows_events_and_format(admin: httpx.Client) -> None:
    _add_webhook(
        admin,
        url="https://hooks.slack.test/T1/B2",
        payload_format="slack",
        events=["import.failed", "grant.expires_soon"],
    )

    page = admin.get("/settings/webhooks").text

    # The channel's URL is its secret: its host is shown, never its path.
    assert "https://hooks.slack.test/…" in page and "/T1/B2" not in page
    assert "Slack message" in page
    assert "import.failed" in page and "grant.expires_soon" in page


async def test_a_teams_endpoint_is_added_without_a_secret(admin: httpx.Client) -> None:
    added = _add_webhook(
        admin, url="https://example.webhook.office.test/workflows/1", payload_format="teams"
    )

    assert added.status_code == 200 and "the URL itself is the secret" in added.text
    assert not SECRET.search(added.text)
    assert "Teams message" in admin.get("/settings/webhooks").text


async def test_a_bad_webhook_url_is_refused_on_the_form(admin: httpx.Client) -> None:
    answer = _add_webhook(admin, url="ftp://example.com/hook")

    assert answer.status_code == 422
    assert "Webhook URL must be an http(s) URL" in answer.text
    assert 'value="ftp://example.com/hook"' in answer.text
    assert not SECRET.search(answer.text)


async def test_the_verification_page_renders_the_recipe(admin: httpx.Client) -> None:
    page = admin.get("/settings/webhooks/verify").text

    assert "webhook-signature" in page and "Standard Webhooks" in page
    assert "from standardwebhooks.webhooks import Webhook" in page


async def test_rotating_shows_a_new_secret_once(admin: httpx.Client) -> None:
    created = _add_webhook(admin)
    first = SECRET.findall(created.text)[0]
    endpoint_id = _endpoint_id(created.text)

    rotated = admin.post(f"/settings/webhooks/{endpoint_id}/rotate")

    assert rotated.status_code == 200
    second = SECRET.findall(rotated.text)[0]
    assert second != first and "24 hours" in rotated.text
    assert second not in admin.get(f"/settings/webhooks/{endpoint_id}").text


async def test_deleting_an_endpoint_removes_it(admin: httpx.Client) -> None:
    endpoint_id = _endpoint_id(_add_webhook(admin).text)

    answer = admin.post(f"/settings/webhooks/{endpoint_id}/delete", follow_redirects=True)

    assert "The endpoint was deleted" in answer.text
    assert UNREACHABLE_HOOK not in answer.text
    assert admin.get(f"/settings/webhooks/{endpoint_id}").status_code == 404


async def test_the_delivery_log_shows_the_events_sent(
    admin: httpx.Client, sandbox: SandboxServer
) -> None:
    endpoint_id = _endpoint_id(_add_webhook(admin).text)

    sandbox.add_fault("revoke_grant", grant=MANAGER)
    sweep_now(admin)

    deadline = time.monotonic() + 15
    while True:
        rows = admin.get(f"/settings/webhooks/{endpoint_id}").text.split("<tbody>")[-1]
        # One event per disconnected data source of the shared grant, newest first.
        if rows.count("<code>data_source.disconnected</code>") == 8:
            break
        assert time.monotonic() < deadline, "the eight events did not reach the log"
        await asyncio.sleep(0.2)
    assert 'data-label="Attempts">' in rows and 'data-label="Status"' in rows


async def test_a_user_created_with_chosen_clients_sees_only_those(
    admin: httpx.Client, app_url: str, session: AsyncSession, demo: Demo
) -> None:
    acme, harbor = demo.clients[0], demo.clients[9]
    answer = admin.post(
        "/settings/users",
        data={
            "email": "Robin@Demo.Relink.Test",
            "name": "Robin",
            "password": "a-long-password",
            "role": "staff",
            "access": "chosen",
            "client_ids": [str(acme.id), str(harbor.id)],
        },
        follow_redirects=True,
    )

    assert answer.status_code == 200
    assert "robin@demo.relink.test can now sign in." in answer.text
    robin = signed_in(app_url, "robin@demo.relink.test", "a-long-password")
    sources = robin.get("/api/data-sources", params={"limit": 200}).json()["items"]
    assert sources and {s["client_id"] for s in sources} <= {acme.id, harbor.id}
    user = await session.scalar(select(User).where(User.email == "robin@demo.relink.test"))
    assert user is not None
    assert {c.id for c in await visible_clients(session, user=user)} == {acme.id, harbor.id}


async def test_a_refused_user_is_shown_the_reason_on_the_form(
    admin: httpx.Client, session: AsyncSession
) -> None:
    answer = admin.post(
        "/settings/users",
        data={
            "email": "short@demo.relink.test",
            "name": "Short",
            "password": "abc",
            "role": "staff",
            "access": "all",
        },
    )

    assert answer.status_code == 422
    assert "The password needs at least" in answer.text
    assert 'value="short@demo.relink.test"' in answer.text
    assert await session.scalar(select(User).where(User.email == "short@demo.relink.test")) is None


async def test_chosen_access_without_clients_is_refused(admin: httpx.Client) -> None:
    answer = admin.post(
        "/settings/users",
        data={
            "email": "none@demo.relink.test",
            "name": "None",
            "password": "a-long-password",
            "role": "staff",
            "access": "chosen",
        },
    )

    assert answer.status_code == 422 and "Choose at least one client" in answer.text


async def test_the_user_list_shows_role_and_client_access(admin: httpx.Client) -> None:
    page = admin.get("/settings/users").text

    assert "limited@demo.relink.test" in page and "All clients" in page
    assert "Client login" in page and "Acme Dental" in page


async def test_an_admin_edits_a_staff_user_s_client_access(
    admin: httpx.Client, session: AsyncSession, demo: Demo
) -> None:
    bakery_id, limited_id = demo.clients[1].id, demo.limited.id

    answer = admin.post(
        f"/settings/users/{limited_id}/access",
        data={"access": "chosen", "client_ids": [str(bakery_id)]},
        follow_redirects=True,
    )

    assert "Client access saved" in answer.text
    session.expire_all()
    limited = await session.get(User, limited_id)
    assert limited is not None
    assert [c.id for c in await visible_clients(session, user=limited)] == [bakery_id]


async def test_the_outbox_lists_a_mail_and_shows_its_body(
    admin: httpx.Client, session: AsyncSession, demo: Demo
) -> None:
    message = OutboxEmail(
        agency_id=demo.agency.id,
        user_id=demo.staff.id,
        to_address="staff@demo.relink.test",
        subject="Sandbox Ads disconnected for Acme Dental",
        kind="single",
        text_body="Reconnect it from Relink.",
        html_body="<p><b>Reconnect</b> it & more</p>",
    )
    session.add(message)
    await session.commit()

    page = admin.get("/settings/outbox").text
    shown = admin.get(f"/settings/outbox/{message.id}").text

    assert "Sandbox Ads disconnected for Acme Dental" in page
    assert "no SMTP configured" in page
    assert "Reconnect it from Relink." in shown
    assert 'sandbox="" srcdoc="&lt;p&gt;&lt;b&gt;Reconnect&lt;/b&gt; it &amp; more' in shown
