"""``POST /api/v1/data-sources/{id}/failures``: what an outside importer met at the provider,
decided with Relink's own rules, over real HTTP against the sandbox's data API."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.db import Database
from relink.models import DataSource, FailureReport, Incident, Notification
from relink.models.base import utcnow
from relink.status import DataSourceStatus
from tests.fixtures.demo import Demo
from tests.fixtures.sandbox import SandboxServer
from tests.importers.conftest import MANAGER, call_provider, failure_of, shared_sources

DAY = (utcnow() - timedelta(days=2)).date().isoformat()


def _credentials(importer: httpx.Client, source_id: int) -> dict[str, Any]:
    answer = importer.get(f"/api/v1/data-sources/{source_id}/credentials")
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def _report(importer: httpx.Client, source_id: int, report: dict[str, Any], key: str) -> Any:
    return importer.post(
        f"/api/v1/data-sources/{source_id}/failures",
        json=report,
        headers={"Idempotency-Key": key},
    )


def _token_calls(sandbox: SandboxServer) -> int:
    return sandbox.state.stats.token_requests_by_subject[MANAGER.subject]


async def _statuses(database: Database, demo: Demo) -> set[DataSourceStatus]:
    async with database.transaction() as session:
        return {s.status for s in await shared_sources(session, demo)}


async def test_a_revoked_grant_stops_the_importer_and_disconnects_every_client_once(
    importer: httpx.Client,
    session: AsyncSession,
    demo: Demo,
    sandbox: SandboxServer,
    database: Database,
) -> None:
    sources = await shared_sources(session, demo)
    credentials = _credentials(importer, sources[0].id)
    sandbox.add_fault("revoke_grant", grant=MANAGER.email)
    met = call_provider(sandbox, credentials, DAY, DAY)
    before = _token_calls(sandbox)

    answer = _report(importer, sources[0].id, failure_of(met, generation=1), "r-1")

    assert answer.status_code == 200, answer.text
    advice = answer.json()
    assert advice["action"] == "stop"
    assert f"/grants/{demo.shared_grant_id}/reconnect" in advice["reconnect_url"]
    assert _token_calls(sandbox) == before + 1
    assert await _statuses(database, demo) == {DataSourceStatus.DISCONNECTED}
    async with database.transaction() as reading:
        incidents = list(await reading.scalars(select(Incident)))
        told = await reading.scalar(select(func.count()).select_from(Notification))
    assert len(incidents) == 1 and incidents[0].grant_id == demo.shared_grant_id
    assert told and told > 0


async def test_the_other_importers_of_a_revoked_grant_are_told_to_stop_without_a_token_call(
    importer: httpx.Client,
    session: AsyncSession,
    demo: Demo,
    sandbox: SandboxServer,
    database: Database,
) -> None:
    sources = await shared_sources(session, demo)
    credentials = _credentials(importer, sources[0].id)
    sandbox.add_fault("revoke_grant", grant=MANAGER.email)
    met = call_provider(sandbox, credentials, DAY, DAY)
    _report(importer, sources[0].id, failure_of(met, generation=1), "first").raise_for_status()
    before = _token_calls(sandbox)

    answers = [
        _report(importer, s.id, failure_of(met, generation=1), f"k-{s.id}") for s in sources[1:]
    ]

    assert {a.json()["action"] for a in answers} == {"stop"}
    assert _token_calls(sandbox) == before
    async with database.transaction() as reading:
        assert await reading.scalar(select(func.count()).select_from(Incident)) == 1


@pytest.mark.parametrize("fault", ["server_error", "drop_response"])
async def test_a_server_error_or_a_lost_answer_stays_transient(
    importer: httpx.Client,
    session: AsyncSession,
    demo: Demo,
    sandbox: SandboxServer,
    database: Database,
    fault: str,
) -> None:
    source = (await shared_sources(session, demo))[0]
    credentials = _credentials(importer, source.id)
    sandbox.add_fault(fault, account=source.external_account_id)
    try:
        met = call_provider(sandbox, credentials, DAY, DAY)
        report = failure_of(met, generation=1)
    except httpx.TransportError:
        # No answer came: the importer says so with no status.
        report = {"status": None, "call": {"method": "GET", "url": f"{sandbox.url}/api/x"}}

    answer = _report(importer, source.id, report, "t-1")

    assert answer.status_code == 200, answer.text
    assert answer.json()["action"] == "retry_later"
    assert answer.json()["retry_after_seconds"] > 0
    assert await _statuses(database, demo) == {DataSourceStatus.CONNECTED}


async def test_an_access_token_ended_early_is_refreshed_once_and_handed_back(
    importer: httpx.Client,
    session: AsyncSession,
    demo: Demo,
    sandbox: SandboxServer,
) -> None:
    sources = await shared_sources(session, demo)
    credentials = _credentials(importer, sources[0].id)
    sandbox.add_fault("end_access", grant=MANAGER.email)
    met = call_provider(sandbox, credentials, DAY, DAY)
    before = _token_calls(sandbox)
    generation = credentials["token_generation"]

    answers = [
        _report(importer, s.id, failure_of(met, generation=generation), f"e-{s.id}")
        for s in sources[:3]
    ]

    advice = [a.json() for a in answers]
    assert {a["action"] for a in advice} == {"retry_now"}
    assert _token_calls(sandbox) == before + 1
    fresh = advice[0]["credentials"]
    assert fresh["access_token"] != credentials["access_token"]
    assert call_provider(sandbox, fresh, DAY, DAY).status_code == 200


async def test_a_report_sent_again_with_its_key_answers_the_first_answer_and_runs_once(
    importer: httpx.Client,
    session: AsyncSession,
    demo: Demo,
    sandbox: SandboxServer,
    database: Database,
) -> None:
    source = (await shared_sources(session, demo))[0]
    credentials = _credentials(importer, source.id)
    sandbox.add_fault("server_error", account=source.external_account_id)
    report = failure_of(call_provider(sandbox, credentials, DAY, DAY), generation=1)

    first = _report(importer, source.id, report, "same").json()
    again = _report(importer, source.id, report, "same").json()

    assert again == {**first, "replayed": True}
    async with database.transaction() as reading:
        row = await reading.get_one(DataSource, source.id)
        kept = await reading.scalar(select(func.count()).select_from(FailureReport))
    assert row.consecutive_failures == 1
    assert kept == 1


async def test_what_is_kept_of_a_report_holds_no_credential(
    importer: httpx.Client, session: AsyncSession, demo: Demo, database: Database
) -> None:
    source = (await shared_sources(session, demo))[0]
    secret = "canary-" + "s3cr3t" * 8
    report = {
        "status": 500,
        "headers": {"Authorization": f"Bearer {secret}", "Set-Cookie": secret},
        "body": f'{{"error": "boom", "access_token": "{secret}", "echo": "{secret}"}}',
        "call": {"method": "GET", "url": f"https://api.example.test/v1/x?api_key={secret}"},
    }

    answer = _report(importer, source.id, report, "canary")

    assert answer.status_code == 200, answer.text
    assert secret not in answer.text
    async with database.transaction() as reading:
        row = (await reading.scalars(select(FailureReport))).one()
    assert secret not in repr((row.call, row.body_excerpt, row.advice, row.error_class)), row.call


async def test_an_oversized_report_is_refused_saying_what_to_cut_and_nothing_is_kept(
    importer: httpx.Client, session: AsyncSession, demo: Demo, database: Database
) -> None:
    source = (await shared_sources(session, demo))[0]
    report = {"status": 500, "body": "x" * 70_000, "call": {"url": "https://a.test/"}}

    answer = _report(importer, source.id, report, "big")

    assert answer.status_code == 422
    assert "body" in answer.text
    async with database.transaction() as reading:
        assert await reading.scalar(select(func.count()).select_from(FailureReport)) == 0


async def test_a_report_without_an_idempotency_key_is_refused(
    importer: httpx.Client, session: AsyncSession, demo: Demo
) -> None:
    source = (await shared_sources(session, demo))[0]

    answer = importer.post(
        f"/api/v1/data-sources/{source.id}/failures",
        json={"status": 500, "call": {"url": "https://a.test/"}},
    )

    assert answer.status_code == 422
    assert "Idempotency-Key" in answer.text
