"""The Data Sources page's status chips and broken sign-ins never contradict the rows under
them once a status change has committed: kept counts are counted again on the next page, in
this app, in another app on the same database, and in another process."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from relink.demo import DEMO_PASSWORD
from relink.status import DataSourceStatus, GrantStatus
from relink.status_writer import transition_many
from tests.fixtures.app_server import run_app, signed_in
from tests.fixtures.demo import Demo, data_sources_of
from tests.fixtures.processes import relink_env, relink_serve, start
from tests.fixtures.sandbox import SandboxServer
from tests.fixtures.sweeps import sweep_now

MANAGER = "manager@sandbox.test"
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
# The demo: 15 data sources, 8 of them through the shared grant of MANAGER.
ALL_CONNECTED = {"All": 15, "Connected": 15}
AFTER_REVOKE = {"All": 15, "Connected": 7, "Disconnected": 8}
# Generous, only to stop a hung test: Python processes start slowly on a shared machine.
CHECK_SECONDS = 120.0


def _chips(html: str) -> dict[str, int]:
    """The status chips above the table: label → number."""
    chips = html.split('aria-label="Data sources by status"', 1)[1].split("</ul>", 1)[0]
    return {
        label.strip(): int(number)
        for label, number in re.findall(r'<a class="chip[^"]*"[^>]*>([^<]+)<b>(\d+)</b>', chips)
    }


def _row_counts(html: str) -> dict[str, int]:
    """The rows under the chips counted the same way (every row fits the one page)."""
    statuses = Counter(s.capitalize() for s in re.findall(r'<tr class="ds-row st-(\w+)"', html))
    return {"All": sum(statuses.values()), **statuses}


def _reconnect_banners(html: str) -> list[str]:
    """The button of each broken sign-in's banner above the chips."""
    return re.findall(
        r'grant-banner".*?<a class="button" href="/grants/\d+/reconnect">([^<]+)</a>', html, re.S
    )


def _admin(url: str) -> httpx.Client:
    return signed_in(url, "admin@demo.relink.test", DEMO_PASSWORD)


def test_the_first_page_after_a_revocation_counts_what_its_rows_show(
    admin: httpx.Client, sandbox: SandboxServer
) -> None:
    # given: a page has been shown, so its counts are kept
    before = admin.get("/data-sources").text
    assert _chips(before) == ALL_CONNECTED
    assert _reconnect_banners(before) == []

    # when: the shared grant is revoked at the provider and a sweep finds it
    sandbox.add_fault("revoke_grant", grant=MANAGER)
    sweep_now(admin)
    after = admin.get("/data-sources").text

    # then: the very next page counts the disconnected rows it lists
    assert _chips(after) == _row_counts(after) == AFTER_REVOKE


def test_the_first_page_after_a_revocation_offers_its_reconnect(
    admin: httpx.Client, sandbox: SandboxServer
) -> None:
    admin.get("/data-sources")

    sandbox.add_fault("revoke_grant", grant=MANAGER)
    sweep_now(admin)

    assert _reconnect_banners(admin.get("/data-sources").text) == ["Reconnect all 8"]


def test_a_limited_users_kept_counts_follow_a_revocation_too(
    app_url: str, sandbox: SandboxServer, admin: httpx.Client
) -> None:
    limited = signed_in(app_url, "limited@demo.relink.test", DEMO_PASSWORD)
    before = limited.get("/data-sources").text
    assert _chips(before) == _row_counts(before)

    sandbox.add_fault("revoke_grant", grant=MANAGER)
    sweep_now(admin)
    after = limited.get("/data-sources").text

    assert "Disconnected" in _chips(after)
    assert _chips(after) == _row_counts(after)


async def test_a_repair_committed_elsewhere_clears_the_counts_and_the_banner_at_once(
    admin: httpx.Client, sandbox: SandboxServer, session: AsyncSession, demo: Demo
) -> None:
    # given: the revocation is on the page, its counts kept
    sandbox.add_fault("revoke_grant", grant=MANAGER)
    sweep_now(admin)
    assert _chips(admin.get("/data-sources").text) == AFTER_REVOKE

    # when: another unit of work (not this app's) repairs the grant through the status writer
    sources = [s.id for s in await data_sources_of(session, demo.shared_grant_id)]
    await transition_many(
        session, [demo.shared_grant_id], to=GrantStatus.ACTIVE, actor="test", now=NOW
    )
    await transition_many(session, sources, to=DataSourceStatus.CONNECTED, actor="test", now=NOW)
    await session.commit()
    page = admin.get("/data-sources").text

    # then
    assert _chips(page) == _row_counts(page) == ALL_CONNECTED
    assert _reconnect_banners(page) == []


@pytest.fixture
def second_app(
    demo: Demo,
    database_url: str,
    secret_key: str,
    sandbox: SandboxServer,
    app_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[str]:
    """Another app on the same database, with its own kept counts (as another process has)."""
    with run_app(
        monkeypatch, database_url=database_url, secret_key=secret_key, sandbox_url=sandbox.url
    ) as running:
        yield running.url


def test_two_apps_on_one_database_each_count_again_after_a_revocation(
    admin: httpx.Client, second_app: str, sandbox: SandboxServer
) -> None:
    # given: both apps have shown the page, each keeping its own counts
    other = _admin(second_app)
    assert _chips(other.get("/data-sources").text) == ALL_CONNECTED
    assert _chips(admin.get("/data-sources").text) == ALL_CONNECTED

    # when: a sweep disconnects the shared grant's data sources
    sandbox.add_fault("revoke_grant", grant=MANAGER)
    sweep_now(admin)

    # then: neither app was told, and each counts what its rows show
    for client in (admin, other):
        page = client.get("/data-sources").text
        assert _chips(page) == _row_counts(page) == AFTER_REVOKE
        assert _reconnect_banners(page) == ["Reconnect all 8"]


@contextmanager
def _relink_serve(env: dict[str, str]) -> Iterator[str]:
    """The real `relink serve` on a free port, its scheduler and worker off."""
    with relink_serve({**env, "RELINK_EMBEDDED_WORKER": "false"}) as url:
        yield url


def test_two_serve_processes_count_again_after_a_check_in_a_third(
    demo: Demo, database_url: str, secret_key: str, sandbox: SandboxServer, tmp_path: Path
) -> None:
    env = relink_env(
        database_url=database_url,
        secret_key=secret_key,
        sandbox_url=sandbox.url,
        var_dir=tmp_path / "var",
    )
    with _relink_serve(env) as first_url, _relink_serve(env) as second_url:
        # given: each process has shown the page and keeps its counts
        clients = [_admin(first_url), _admin(second_url)]
        for client in clients:
            assert _chips(client.get("/data-sources").text) == ALL_CONNECTED

        # when: `relink check`, a process of its own, finds the revoked grant
        sandbox.add_fault("revoke_grant", grant=MANAGER)
        out, err = start("check", env=env).communicate(timeout=CHECK_SECONDS)
        assert "disconnected" in out.decode(), err.decode()

        # then: the next page of each counts the disconnected rows it lists
        for client in clients:
            page = client.get("/data-sources").text
            assert _chips(page) == _row_counts(page) == AFTER_REVOKE
            assert _reconnect_banners(page) == ["Reconnect all 8"]
