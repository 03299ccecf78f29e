"""The whole story in the scaled mode, on real PostgreSQL and Redis with real processes.

Two app processes (web and API only), two `relink worker` processes and `relink scheduler`:
the provider revokes the shared grant, its data sources go down, the bell moves in the app
process nobody used, a reconnect in the other brings them back and backfills the gap; a
worker killed with SIGKILL in the middle of that import loses no day, doubles none, and its
job is done by the other worker.
"""

from __future__ import annotations

import functools
import json
import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import psycopg
import redis
from prometheus_client.parser import text_string_to_metric_families

from relink.demo import DEMO_PASSWORD
from relink.worker.queues import QUEUES
from tests.fixtures.app_server import signed_in
from tests.fixtures.live_app import seed_demo_sync
from tests.fixtures.oauth_dance import reconnect
from tests.fixtures.sandbox import SandboxServer
from tests.scaled.cluster import Cluster, Process, eventually

ADMIN = "admin@demo.relink.test"
MANAGER = "manager@sandbox.test"
GAP_DAYS = 200
# Each data call of the backfilled account waits this long, so the kill lands mid-import.
SLOW_SECONDS = 0.5


class Bell:
    """The bell of one browser: the unread counts its live stream has delivered."""

    def __init__(self, url: str) -> None:
        self.client = signed_in(url, ADMIN, DEMO_PASSWORD)
        self.client.timeout = httpx.Timeout(10, read=None)
        self.counts: list[int] = []
        self.thread = threading.Thread(target=self._listen, daemon=True)
        self.thread.start()

    def _listen(self) -> None:
        try:
            with self.client.stream("GET", "/api/notifications/stream") as answer:
                for line in answer.iter_lines():
                    if line.startswith("data:"):
                        self.counts.append(json.loads(line[5:])["unread"])
        except httpx.HTTPError:
            return  # closed at the end of the test

    def close(self) -> None:
        self.client.close()


def _sql(cluster: Cluster, query: str, *params: Any) -> list[tuple[Any, ...]]:
    dsn = cluster.database_url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(dsn, autocommit=True) as conn:
        cursor = conn.execute(query, params)  # type: ignore[arg-type]
        return cursor.fetchall() if cursor.description is not None else []


def _shared_sources(cluster: Cluster, grant_id: int) -> list[tuple[Any, ...]]:
    return _sql(
        cluster,
        "SELECT id, status, complete_through FROM data_source WHERE grant_id = %s ORDER BY id",
        grant_id,
    )


def test_revoke_bell_reconnect_backfill_and_a_killed_worker_in_the_scaled_mode(
    cluster: Cluster, sandbox: SandboxServer, secret_key: str
) -> None:
    demo = seed_demo_sync(cluster.database_url, secret_key)
    grant_id = demo.shared_grant_id
    app, other_app = cluster.app("app-1"), cluster.app("app-2")
    workers = [cluster.worker("worker-a"), cluster.worker("worker-b")]
    scheduler = cluster.scheduler()
    for process in (app, other_app):
        cluster.wait_ready(process)
    try:
        _story(cluster, sandbox, grant_id, app, other_app, workers, scheduler)
    except BaseException:
        print(cluster.logs())
        raise


def _story(
    cluster: Cluster,
    sandbox: SandboxServer,
    grant_id: int,
    app: Process,
    other_app: Process,
    workers: list[Process],
    scheduler: Process,
) -> None:
    assert app.url is not None and other_app.url is not None
    imports_before = _imports_counted(other_app.url)
    bell = Bell(other_app.url)
    eventually(lambda: bool(bell.counts), what="the bell shows its first count")
    unread_before = bell.counts[-1]

    # The provider revokes the shared grant; its refresh comes due, a worker finds out.
    sandbox.add_fault("revoke_grant", grant=MANAGER)
    _sql(cluster, 'UPDATE "grant" SET next_refresh_at = now() WHERE id = %s', grant_id)
    eventually(
        lambda: {row[1] for row in _shared_sources(cluster, grant_id)} == {"disconnected"},
        what="every data source of the shared grant is disconnected",
    )
    eventually(
        lambda: bell.counts[-1] > unread_before,
        what="the bell of the second app process shows the reconnect notification",
    )
    with httpx.Client(base_url=other_app.url) as http:
        http.cookies = bell.client.cookies
        assert http.get("/api/notifications/unread-count").json()["unread"] > unread_before

    # A long gap on one data source, its provider slow: the backfill runs batch after batch.
    sandbox.state.faults.clear()
    source_id, account = _sql(
        cluster,
        "SELECT d.id, d.external_account_id FROM data_source d JOIN client c ON c.id = d.client_id "
        "WHERE d.grant_id = %s AND c.name = 'Acme Dental'",
        grant_id,
    )[0]
    today = datetime.now(UTC).date()
    gap_start = today - timedelta(days=GAP_DAYS)
    _sql(
        cluster, "UPDATE data_source SET complete_through = %s WHERE id = %s", gap_start, source_id
    )
    sandbox.add_fault("slow", account=account, delay=SLOW_SECONDS)
    (last_run,) = _sql(cluster, "SELECT coalesce(max(id), 0) FROM sync_run")[0]

    admin = signed_in(app.url, ADMIN, DEMO_PASSWORD)
    try:
        answer = reconnect(admin, sandbox, grant_id=grant_id, email=MANAGER)
    finally:
        admin.close()
    assert answer.status_code < 400, answer.text

    # Kill the worker importing the gap once a batch is in and the next one is being fetched.
    running: list[tuple[Any, ...]] = []

    def mid_import() -> bool:
        runs = _sql(
            cluster,
            "SELECT outcome, owner FROM sync_run WHERE data_source_id = %s AND id > %s",
            source_id,
            last_run,
        )
        running[:] = [r for r in runs if r[0] == "running"]
        return any(r[0] == "ok" for r in runs) and bool(running)

    eventually(mid_import, what="the backfill has committed a batch and is fetching the next")
    victim = cluster.owner_of(int(running[0][1].split(":")[1]))
    assert victim in workers
    victim.kill()
    sandbox.state.faults.clear()

    # Today is imported as far as it goes; yesterday is the last complete day.
    yesterday = today - timedelta(days=1)
    eventually(
        lambda: all(
            row[1] == "connected" and row[2] == yesterday
            for row in _shared_sources(cluster, grant_id)
        ),
        what="every data source of the shared grant is connected and complete through yesterday",
    )
    days = [
        row[0]
        for row in _sql(
            cluster, "SELECT day FROM daily_metric WHERE data_source_id = %s", source_id
        )
    ]
    assert len(days) == len(set(days)), "no day twice"
    expected = {gap_start + timedelta(days=n) for n in range(1, GAP_DAYS + 1)}
    missing: set[date] = expected - set(days)
    assert not missing, f"no day missing: {sorted(missing)}"

    # No job lost: with the schedule stopped, every message, the killed worker's too, is run
    # and acknowledged by the worker left.
    scheduler.stop()
    broker = redis.Redis.from_url(cluster.redis.url)
    eventually(
        lambda: sum(broker.llen(q) for q in QUEUES) == 0 and broker.hlen("unacked") == 0,
        what="every queued job has been run and acknowledged",
    )
    assert [w.alive() for w in workers] == [w is not victim for w in workers]

    # The app process that ran no job shows the imports the workers did: its figures are the
    # rows', not its own memory.
    assert _imports_counted(other_app.url) > imports_before

    # Redis away: the app processes stay up and answer, and say they are not ready.
    with cluster.redis_stopped():
        for process in (app, other_app):
            assert httpx.get(f"{process.url}/healthz", timeout=5).status_code == 200
            ready = httpx.get(f"{process.url}/readyz", timeout=5)
            assert ready.status_code == 503 and "redis" in ready.json()["checks"]
            assert ready.json()["checks"]["redis"].startswith("failed")
    for url in (app.url, other_app.url):
        eventually(functools.partial(_ready, url), what="readiness is back once Redis is")
    bell.close()


def _ready(url: str) -> bool:
    return httpx.get(f"{url}/readyz", timeout=5).status_code == 200


def _imports_counted(url: str) -> float:
    """relink_imports_total summed over its outcomes, as /metrics shows it."""
    text = httpx.get(f"{url}/metrics", timeout=10).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "relink_imports"
        for sample in family.samples
        if sample.name == "relink_imports_total"
    )
