"""The inbox over HTTP, as the bell and the inbox page use it, and the live stream."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field

import httpx

from relink.demo import DEMO_PASSWORD
from tests.fixtures.app_server import signed_in, with_csrf
from tests.fixtures.demo import Demo
from tests.fixtures.sandbox import SandboxServer
from tests.fixtures.sweeps import sweep_now

MANAGER = "manager@sandbox.test"


def _admin(url: str) -> httpx.Client:
    return signed_in(url, "admin@demo.relink.test", DEMO_PASSWORD)


def _revoke_and_sweep(admin: httpx.Client, sandbox: SandboxServer) -> None:
    sandbox.add_fault("revoke_grant", grant=MANAGER)
    sweep_now(admin)


def test_a_wrong_password_is_refused_with_a_clear_message(app_url: str) -> None:
    answer = httpx.post(
        f"{app_url}/api/session",
        json={"email": "admin@demo.relink.test", "password": "nope-nope-nope"},
    )

    assert answer.status_code == 401
    assert "do not match" in answer.json()["detail"]


def test_the_inbox_needs_a_signed_in_user(app_url: str) -> None:
    assert httpx.get(f"{app_url}/api/notifications").status_code == 401


def test_the_session_cookie_is_httponly_and_samesite_lax(app_url: str) -> None:
    answer = httpx.post(
        f"{app_url}/api/session",
        json={"email": "admin@demo.relink.test", "password": DEMO_PASSWORD},
    )

    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie


def test_a_notification_shows_date_provider_clients_and_reconnect(
    app_url: str, sandbox: SandboxServer
) -> None:
    admin = _admin(app_url)
    _revoke_and_sweep(admin, sandbox)

    page = admin.get("/api/notifications").json()

    assert page["unread"] == 1
    (item,) = page["items"]
    assert item["provider_name"] == "Sandbox Ads"
    assert len(item["client_names"]) == 8 and "Acme Dental" in item["client_names"]
    assert item["opened_at"] and item["action"]["label"] == "Reconnect"


def test_taking_the_action_marks_read_and_answers_where_to_go(
    app_url: str, sandbox: SandboxServer, demo: Demo
) -> None:
    admin = _admin(app_url)
    _revoke_and_sweep(admin, sandbox)
    (item,) = admin.get("/api/notifications").json()["items"]

    taken = admin.post(f"/api/notifications/{item['id']}/act").json()

    assert taken["redirect"] == f"/grants/{demo.shared_grant_id}/reconnect"
    assert admin.get("/api/notifications/unread-count").json() == {"unread": 0}


def test_someone_elses_notification_is_not_found(app_url: str, sandbox: SandboxServer) -> None:
    admin = _admin(app_url)
    _revoke_and_sweep(admin, sandbox)
    (item,) = admin.get("/api/notifications").json()["items"]
    staff = signed_in(app_url, "staff@demo.relink.test", DEMO_PASSWORD)

    assert staff.post(f"/api/notifications/{item['id']}/read").status_code == 404


def test_mark_all_read(app_url: str, sandbox: SandboxServer) -> None:
    admin = _admin(app_url)
    _revoke_and_sweep(admin, sandbox)

    admin.post("/api/notifications/read-all").raise_for_status()

    assert admin.get("/api/notifications/unread-count").json() == {"unread": 0}


def test_only_an_admin_may_run_a_sweep(app_url: str) -> None:
    staff = signed_in(app_url, "staff@demo.relink.test", DEMO_PASSWORD)

    assert staff.post("/api/health/sweep").status_code == 403


@dataclass
class StreamReader:
    """Reads the SSE stream in a thread, noting when each unread count arrived."""

    client: httpx.Client
    counts: list[tuple[float, int]] = field(default_factory=list)
    ready: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        with self.client.stream("GET", "/api/notifications/stream", timeout=30) as answer:
            for line in answer.iter_lines():
                if line.startswith("data:"):
                    self.counts.append((time.monotonic(), json.loads(line[5:])["unread"]))
                    self.ready.set()
                if len(self.counts) >= 2:
                    return


def test_a_stream_sees_the_count_change_within_a_second_of_the_incident(
    app_url: str, sandbox: SandboxServer
) -> None:
    admin = _admin(app_url)
    reader = StreamReader(signed_in(app_url, "staff@demo.relink.test", DEMO_PASSWORD))
    thread = threading.Thread(target=reader.run, daemon=True)
    thread.start()
    assert reader.ready.wait(10), "the stream sends the current count at once"

    _revoke_and_sweep(admin, sandbox)
    swept = time.monotonic()
    thread.join(timeout=5)

    assert [count for _, count in reader.counts] == [0, 1]
    assert reader.counts[1][0] - swept < 1.0


def test_an_email_link_leads_a_signed_out_person_to_sign_in_first(
    app_url: str, sandbox: SandboxServer
) -> None:
    admin = _admin(app_url)
    _revoke_and_sweep(admin, sandbox)
    (item,) = admin.get("/api/notifications").json()["items"]

    answer = httpx.get(f"{app_url}/notifications/{item['id']}")

    assert answer.status_code == 303
    assert answer.headers["location"] == f"/login?next=/notifications/{item['id']}"


def test_opening_the_link_spends_nothing_and_shows_the_button(
    app_url: str, sandbox: SandboxServer
) -> None:
    admin = _admin(app_url)
    _revoke_and_sweep(admin, sandbox)
    (item,) = admin.get("/api/notifications").json()["items"]

    page = admin.get(f"/notifications/{item['id']}")

    assert page.status_code == 200
    assert "Reconnect</button>" in page.text and "Acme Dental" in page.text
    assert admin.get("/api/notifications/unread-count").json() == {"unread": 1}


def test_signing_in_from_the_link_comes_back_to_it(app_url: str) -> None:
    client = with_csrf(httpx.Client(base_url=app_url))

    answer = client.post(
        "/login",
        data={
            "email": "admin@demo.relink.test",
            "password": DEMO_PASSWORD,
            "next": "/notifications/1",
        },
    )

    assert answer.status_code == 303 and answer.headers["location"] == "/notifications/1"


def test_a_next_target_off_site_is_ignored(app_url: str) -> None:
    client = with_csrf(httpx.Client(base_url=app_url))

    answer = client.post(
        "/login",
        data={
            "email": "admin@demo.relink.test",
            "password": DEMO_PASSWORD,
            "next": "//evil.example/x",
        },
    )

    assert answer.headers["location"] == "/"


def test_a_form_post_without_the_csrf_token_is_refused(app_url: str) -> None:
    client = httpx.Client(base_url=app_url)
    client.get("/login")

    answer = client.post(
        "/login", data={"email": "admin@demo.relink.test", "password": DEMO_PASSWORD}
    )

    assert answer.status_code == 403 and "reload the page" in answer.text


def test_a_signed_in_post_without_the_token_is_refused(app_url: str) -> None:
    admin = _admin(app_url)
    del admin.headers["X-CSRF-Token"]

    assert admin.post("/api/notifications/read-all").status_code == 403


def test_repeated_wrong_passwords_are_slowed_down(app_url: str) -> None:
    wrong = {"email": "staff@demo.relink.test", "password": "wrong-password-x"}
    answers = [httpx.post(f"{app_url}/api/session", json=wrong).status_code for _ in range(11)]

    assert answers[:10] == [401] * 10 and answers[10] == 429
    right = {"email": "staff@demo.relink.test", "password": DEMO_PASSWORD}
    assert httpx.post(f"{app_url}/api/session", json=right).status_code == 429
