"""Nothing waits behind imports in the scaled mode, out of the box (no `--queues` tuning).

One `relink worker --concurrency 1`: a single import process, taken by a long backfill (years
of missing days from a slow provider). Meanwhile the schedule's sweep refreshes a grant and
finds it revoked, a signal's check finds the same, and an admin's requested sweep reads done,
each while the backfill is still far from over.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest

from relink.demo import DEMO_PASSWORD
from relink.sandbox.seed import API_KEY_ACCOUNTS
from tests.fixtures.app_server import signed_in
from tests.fixtures.live_app import seed_demo_sync
from tests.fixtures.sandbox import SandboxServer
from tests.scaled.cluster import Cluster, Process, eventually
from tests.signals.conftest import MANAGER_SUBJECT, revoke_silently, sandbox_set

ADMIN = "admin@demo.relink.test"
MANAGER = "manager@sandbox.test"
# Eight years behind, 31 days a batch, each data call held this long by the provider: minutes
# of importing, far longer than anything below waits for.
GAP_DAYS = 8 * 365
SLOW_SECONDS = 2.0


@dataclass
class Backfilling:
    """A cluster whose only import process is busy with a long backfill."""

    cluster: Cluster
    app: Process
    admin: httpx.Client
    shared_grant_id: int
    source_id: int

    def sql(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        dsn = self.cluster.database_url.replace("postgresql+psycopg://", "postgresql://", 1)
        with psycopg.connect(dsn, autocommit=True) as conn:
            cursor = conn.execute(query, params)  # type: ignore[arg-type]
            return cursor.fetchall() if cursor.description is not None else []

    def backfill_is_far_from_over(self) -> bool:
        ((complete_through,),) = self.sql(
            "SELECT complete_through FROM data_source WHERE id = %s", self.source_id
        )
        return bool(complete_through < datetime.now(UTC).date() - timedelta(days=GAP_DAYS // 2))

    def shared_sources(self) -> set[str]:
        rows = self.sql("SELECT status FROM data_source WHERE grant_id = %s", self.shared_grant_id)
        return {row[0] for row in rows}


def _backfilling(
    cluster: Cluster, sandbox: SandboxServer, secret_key: str, *, with_scheduler: bool
) -> Iterator[Backfilling]:
    demo = seed_demo_sync(cluster.database_url, secret_key)
    app = cluster.app("app")
    cluster.worker("worker")  # out of the box: --concurrency 1 is one import process
    if with_scheduler:
        cluster.scheduler()
    cluster.wait_ready(app)
    assert app.url is not None
    admin = signed_in(app.url, ADMIN, DEMO_PASSWORD)
    running = Backfilling(cluster, app, admin, demo.shared_grant_id, source_id=0)
    account = API_KEY_ACCOUNTS[0].account.id
    ((source_id,),) = running.sql(
        "SELECT id FROM data_source WHERE external_account_id = %s", account
    )
    running.source_id = source_id
    # Years missing, and not due for the sweep: the import the person asked for does it all.
    running.sql(
        "UPDATE data_source SET complete_through = %s, next_sync_at = now() + interval '1 day' "
        "WHERE id = %s",
        datetime.now(UTC).date() - timedelta(days=GAP_DAYS),
        source_id,
    )
    sandbox.add_fault("slow", account=account, delay=SLOW_SECONDS)
    try:
        answer = admin.post(f"/api/data-sources/{source_id}/sync")
        assert answer.status_code == 202, answer.text
        eventually(
            lambda: bool(
                running.sql(
                    "SELECT 1 FROM sync_run WHERE data_source_id = %s AND outcome = 'running'",
                    source_id,
                )
            ),
            what="the backfill holds the worker's one import process",
        )
        yield running
    except BaseException:
        print(cluster.logs())
        raise
    finally:
        # The rest of the gap goes fast, so the worker's warm shutdown does not wait minutes.
        sandbox.state.faults.clear()
        admin.close()


@pytest.fixture
def backfilling_with_schedule(
    cluster: Cluster, sandbox: SandboxServer, secret_key: str
) -> Iterator[Backfilling]:
    yield from _backfilling(cluster, sandbox, secret_key, with_scheduler=True)


@pytest.fixture
def backfilling(cluster: Cluster, sandbox: SandboxServer, secret_key: str) -> Iterator[Backfilling]:
    """No scheduler: only what the test asks for runs beside the backfill."""
    yield from _backfilling(cluster, sandbox, secret_key, with_scheduler=False)


def test_the_schedules_sweep_refreshes_while_a_backfill_fills_every_import_slot(
    backfilling_with_schedule: Backfilling, sandbox: SandboxServer
) -> None:
    running = backfilling_with_schedule
    # given: the provider revoked the shared grant, and its refresh comes due
    sandbox.add_fault("revoke_grant", grant=MANAGER)
    running.sql('UPDATE "grant" SET next_refresh_at = now() WHERE id = %s', running.shared_grant_id)

    # then: the schedule's sweep finds out while the backfill still holds the import process
    eventually(
        lambda: running.shared_sources() == {"disconnected"},
        what="the schedule's sweep disconnects every data source of the revoked grant",
    )
    assert running.backfill_is_far_from_over()


def test_a_signals_check_runs_while_a_backfill_fills_every_import_slot(
    backfilling: Backfilling, sandbox: SandboxServer
) -> None:
    running = backfilling
    assert running.app.url is not None
    eventually(
        lambda: bool(sandbox.state.transmitter.streams),
        what="the app registered its signal receiver with the sandbox",
    )
    # given: the provider revoked the shared grant and says so with a signal
    revoke_silently(sandbox, MANAGER_SUBJECT)
    token = sandbox_set(sandbox, subject=MANAGER_SUBJECT)

    answer = httpx.post(
        f"{running.app.url}/signals/risc",
        content=token,
        headers={"Content-Type": "application/secevent+jwt"},
        timeout=10,
    )

    # then: the check it queued finds out while the backfill still holds the import process
    assert answer.status_code == 202, answer.text
    eventually(
        lambda: running.shared_sources() == {"disconnected"},
        what="the signal's check disconnects every data source of the revoked grant",
    )
    ((via,),) = running.sql(
        "SELECT detected_via FROM incident WHERE grant_id = %s", running.shared_grant_id
    )
    assert via == "signal"
    assert running.backfill_is_far_from_over()


def test_a_requested_sweep_reads_done_while_a_backfill_fills_every_import_slot(
    backfilling: Backfilling,
) -> None:
    running = backfilling

    answer = running.admin.post("/api/health/sweep")

    assert answer.status_code == 202, answer.text
    status_url = answer.json()["status_url"]
    eventually(
        lambda: running.admin.get(status_url).json()["state"] == "done",
        what="the requested sweep's job reads done",
    )
    assert running.backfill_is_far_from_over()
