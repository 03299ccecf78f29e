"""POST /api/health/sweep queues the sweep and answers at once: no request waits on a provider."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from relink.status import DataSourceStatus
from tests.fixtures.demo import Demo
from tests.fixtures.sandbox import SandboxServer
from tests.fixtures.sweeps import wait_for_sweeps
from tests.health.conftest import statuses

MANAGER = "manager@sandbox.test"
# The token endpoint holds its answer this long: far longer than the request takes to answer,
# shorter than the token call's own timeout, so the sweep still gets the answer in the end.
PROVIDER_HANGS_SECONDS = 8.0


async def test_the_sweep_endpoint_answers_before_a_hanging_provider_does(
    session: AsyncSession, demo: Demo, admin: httpx.Client, sandbox: SandboxServer
) -> None:
    # given: the shared grant was revoked, and its token endpoint hangs before saying so
    sandbox.add_fault("revoke_grant", grant=MANAGER)
    sandbox.add_fault("slow", grant=MANAGER, delay=PROVIDER_HANGS_SECONDS, times=1)

    answer = admin.post("/api/health/sweep")

    # then: queued, with what it will take for this agency; the provider has not answered yet
    assert answer.status_code == 202, answer.text
    assert answer.json() == {
        "status": "queued",
        "job": "worker.sweep",
        "due_grants": 2,
        "due_data_sources": len(await statuses(session)),
    }
    assert DataSourceStatus.DISCONNECTED not in (await statuses(session)).values()
    # and the queued sweep does its work once the provider answers
    wait_for_sweeps()
    after = await statuses(session)
    assert list(after.values()).count(DataSourceStatus.DISCONNECTED) == 8
