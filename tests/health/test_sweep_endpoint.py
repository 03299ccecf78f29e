"""POST /api/health/sweep queues the sweep and answers at once: no request waits on a provider;
the answer's job id tells when the sweep has finished."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from relink.demo import DEMO_PASSWORD
from relink.models import Agency, JobState, JobStateName
from relink.models.base import utcnow
from relink.status import DataSourceStatus
from relink.worker.registry import JobName
from tests.fixtures.app_server import signed_in
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
    body = answer.json()
    assert body == {
        "status": "queued",
        "job": "worker.sweep",
        "job_id": body["job_id"],
        "status_url": f"/api/jobs/{body['job_id']}",
        "due_grants": 2,
        "due_data_sources": len(await statuses(session)),
    }
    assert DataSourceStatus.DISCONNECTED not in (await statuses(session)).values()
    # and the queued sweep does its work once the provider answers
    wait_for_sweeps()
    after = await statuses(session)
    assert list(after.values()).count(DataSourceStatus.DISCONNECTED) == 8


def test_the_sweep_answer_names_a_job_that_reads_done_once_the_sweep_has_finished(
    admin: httpx.Client, sandbox: SandboxServer
) -> None:
    # given: the provider hangs, so the queued sweep cannot be over when the answer comes
    sandbox.add_fault("slow", grant=MANAGER, delay=PROVIDER_HANGS_SECONDS, times=1)

    answer = admin.post("/api/health/sweep")

    status_url = answer.json()["status_url"]
    assert answer.headers["Location"] == status_url
    waiting = admin.get(status_url)
    assert waiting.status_code == 200, waiting.text
    assert waiting.json()["state"] in {"queued", "running"}
    assert waiting.json()["finished_at"] is None
    # when the sweep has finished
    wait_for_sweeps()
    # then its job says so, and when
    done = admin.get(status_url).json()
    assert done["id"] == answer.json()["job_id"] and done["job"] == "worker.sweep"
    assert done["state"] == "done", done
    assert done["error"] is None
    assert done["queued_at"] <= done["started_at"] <= done["finished_at"]


def test_a_staff_member_may_not_read_a_sweep_job_as_they_may_not_queue_one(
    app_url: str, admin: httpx.Client
) -> None:
    status_url = admin.post("/api/health/sweep").json()["status_url"]
    wait_for_sweeps()
    staff = signed_in(app_url, "staff@demo.relink.test", DEMO_PASSWORD)

    assert staff.get(status_url).status_code == 403


async def test_another_agencys_job_is_not_found(session: AsyncSession, admin: httpx.Client) -> None:
    other = Agency(name="Other Agency", slug="other-agency")
    session.add(other)
    await session.flush()
    job_id = uuid.uuid4().hex
    session.add(
        JobState(
            id=job_id,
            agency_id=other.id,
            name=JobName.SWEEP.value,
            state=JobStateName.QUEUED,
            queued_at=utcnow(),
        )
    )
    await session.commit()

    answer = admin.get(f"/api/jobs/{job_id}")

    assert answer.status_code == 404
    assert admin.get(f"/api/jobs/{'0' * 32}").status_code == 404


def test_a_job_id_that_is_not_one_is_refused_saying_what_one_looks_like(
    admin: httpx.Client,
) -> None:
    answer = admin.get("/api/jobs/not-a-job")

    assert answer.status_code == 422
    assert "[0-9a-f]{32}" in answer.text
