"""PostgreSQL going away under a running app: every request answers 503 with a reason and a
Retry-After (JSON for the API, the styled page for people), and the app answers again once
the database is back, without a restart.

The app reaches a database of its own through a proxy (tests/fixtures/database_proxy.py):
"away" is the proxy refusing new connections and the server ending the app's backends, as a
restart or a fail-over does. The shared server itself is never stopped.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from relink import migrate
from relink.auth.session_cache import SessionCache
from relink.demo import DEMO_PASSWORD
from relink.errors import DATABASE_RETRY_AFTER_SECONDS
from tests.fixtures.app_server import run_app, signed_in
from tests.fixtures.database import PostgresDatabases, async_url, require_postgres, truncate_all
from tests.fixtures.database_proxy import DatabaseProxy, database_proxy, terminate_backends
from tests.fixtures.live_app import seed_demo_sync
from tests.fixtures.sandbox import SandboxServer

ADMIN = "admin@demo.relink.test"
# What every answer of a database gone away says, whatever the reason.
SAYS_AWAY = "The database is not answering right now"
RETRY_AFTER = str(DATABASE_RETRY_AFTER_SECONDS)


@dataclass
class AwayApp:
    """The demo served over a database the test can send away and bring back."""

    url: str
    proxy: DatabaseProxy
    dsn: str

    def database_goes_away(self) -> None:
        """Refused at the door, and every backend the app had ended by the server."""
        self.proxy.refuse()
        terminate_backends(self.dsn)
        self.proxy.cut()

    def database_comes_back(self) -> None:
        self.proxy.come_back()

    def visitor(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10)

    def admin(self) -> httpx.Client:
        """The demo admin signed in, having read the list once (its connections pooled)."""
        client = signed_in(self.url, ADMIN, DEMO_PASSWORD)
        assert client.get("/api/data-sources").status_code == 200
        return client


@pytest.fixture(scope="module")
def own_database(pg_databases: PostgresDatabases) -> str:
    """A migrated database for this module alone: its backends are ended at will."""
    require_postgres()
    dsn = pg_databases.create("relink_away")
    migrate.upgrade(async_url(dsn))
    return dsn


@pytest.fixture
def away_app(
    own_database: str,
    secret_key: str,
    sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[AwayApp]:
    truncate_all(own_database)
    seed_demo_sync(async_url(own_database), secret_key)
    # A signed-in request is then answered from the session cache for the whole test: each
    # request below reaches the database where its own reading does, not at the session check.
    monkeypatch.setattr(SessionCache, "TTL_SECONDS", 600.0)
    with (
        database_proxy() as proxy,
        run_app(
            monkeypatch,
            database_url=proxy.url_for(own_database),
            secret_key=secret_key,
            sandbox_url=sandbox.url,
        ) as running,
    ):
        yield AwayApp(running.url, proxy, own_database)


def test_the_data_sources_api_answers_503_with_its_reason(away_app: AwayApp) -> None:
    admin = away_app.admin()
    away_app.database_goes_away()

    # Its pooled connection is found dead.
    answer = admin.get("/api/data-sources")

    assert answer.status_code == 503
    assert answer.headers["content-type"] == "application/json"
    assert answer.json()["detail"].startswith(SAYS_AWAY)
    assert answer.headers["retry-after"] == RETRY_AFTER


def test_the_data_sources_api_answers_503_while_no_connection_opens(away_app: AwayApp) -> None:
    admin = away_app.admin()
    away_app.database_goes_away()
    admin.get("/api/data-sources")

    # The door is shut for a new connection.
    answer = admin.get("/api/data-sources")

    assert answer.status_code == 503
    assert answer.json()["detail"].startswith(SAYS_AWAY)
    assert answer.headers["retry-after"] == RETRY_AFTER


def test_the_data_sources_page_answers_a_503_page(away_app: AwayApp) -> None:
    admin = away_app.admin()
    away_app.database_goes_away()

    answer = admin.get("/data-sources")

    assert answer.status_code == 503
    assert answer.headers["content-type"].startswith("text/html")
    assert SAYS_AWAY in answer.text and "Try again shortly" in answer.text
    assert answer.headers["retry-after"] == RETRY_AFTER


def test_the_data_sources_page_keeps_its_connection_after_a_503(away_app: AwayApp) -> None:
    admin = away_app.admin()
    away_app.database_goes_away()
    admin.get("/data-sources")

    # The same keep-alive connection answers the next request (after a crash the server
    # closed it: the browser saw the connection dropped).
    answer = admin.get("/data-sources")

    assert answer.status_code == 503
    assert SAYS_AWAY in answer.text


def test_readyz_says_how_the_database_went_away(away_app: AwayApp) -> None:
    away_app.admin()
    away_app.database_goes_away()

    answer = away_app.visitor().get("/readyz")

    assert answer.status_code == 503
    reason = answer.json()["checks"]["database"]
    assert reason.startswith("failed: ") and "connection" in reason


def test_the_sign_in_page_answers_a_503_page(away_app: AwayApp) -> None:
    away_app.admin()
    away_app.database_goes_away()

    answer = away_app.visitor().get("/login")

    assert answer.status_code == 503
    assert SAYS_AWAY in answer.text
    assert answer.headers["retry-after"] == RETRY_AFTER


def test_signing_in_answers_503_with_its_reason(away_app: AwayApp) -> None:
    away_app.admin()
    away_app.database_goes_away()

    answer = away_app.visitor().post(
        "/api/session", json={"email": ADMIN, "password": DEMO_PASSWORD}
    )

    assert answer.status_code == 503
    assert answer.json()["detail"].startswith(SAYS_AWAY)
    assert answer.headers["retry-after"] == RETRY_AFTER


def test_the_bell_count_answers_503_with_its_reason(away_app: AwayApp) -> None:
    admin = away_app.admin()
    away_app.database_goes_away()

    answer = admin.get("/api/notifications/unread-count")

    assert answer.status_code == 503
    assert answer.json()["detail"].startswith(SAYS_AWAY)


def test_the_live_bell_ends_cleanly_and_says_when_to_come_back(away_app: AwayApp) -> None:
    admin = away_app.admin()
    away_app.database_goes_away()

    # The stream had begun when its first snapshot met the database: no status to change,
    # so it ends whole, with the reconnection delay the browser's EventSource obeys.
    with admin.stream("GET", "/api/notifications/stream") as answer:
        body = answer.read().decode()

    assert answer.status_code == 200
    assert f"retry: {DATABASE_RETRY_AFTER_SECONDS * 1000}" in body


def test_every_answer_comes_back_with_the_database_without_a_restart(
    away_app: AwayApp,
) -> None:
    admin = away_app.admin()
    away_app.database_goes_away()
    assert admin.get("/api/data-sources").status_code == 503

    away_app.database_comes_back()
    answers = {
        path: client.get(path).status_code
        for client, path in (
            (admin, "/api/data-sources"),
            (admin, "/data-sources"),
            (admin, "/api/notifications/unread-count"),
            (away_app.visitor(), "/readyz"),
            (away_app.visitor(), "/login"),
        )
    }

    assert answers == dict.fromkeys(answers, 200)
