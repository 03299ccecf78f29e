"""/metrics as Prometheus scrapes it: figures read from the rows, whichever process wrote them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from relink.app import create_app
from relink.config import Settings
from relink.db import Database
from relink.telemetry import collector
from relink.worker.context import JobContext
from relink.worker.sweep import sweep
from tests.fixtures.demo import Demo
from tests.fixtures.sandbox import SandboxServer
from tests.ops.test_probes import UNREACHABLE_POSTGRES

MANAGER = "manager@sandbox.test"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture(autouse=True)
def _no_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each scrape reads the rows again (the cache is for Prometheus, not for these tests)."""
    monkeypatch.setattr(collector, "CACHE_SECONDS", 0.0)


async def _app(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    # Its own Database object: the rows it reads were written through another one.
    database = Database(database_url)
    app: FastAPI = create_app(database=database, settings=Settings(embedded_worker=False))
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://ops") as client:
                yield client
    finally:
        await database.dispose()


@pytest.fixture
async def scraper(database_url: str, demo: Demo) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _app(database_url):
        yield client


async def scrape(client: httpx.AsyncClient) -> Samples:
    answer = await client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum over every series of ``name`` that has ``labels`` (and any others)."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


async def test_imports_run_elsewhere_move_the_counters(
    scraper: httpx.AsyncClient, ctx: JobContext
) -> None:
    before = await scrape(scraper)

    report = await sweep(ctx)
    after = await scrape(scraper)

    assert report.imported > 0
    moved = value(after, "relink_imports_total", outcome="ok") - value(
        before, "relink_imports_total", outcome="ok"
    )
    assert moved == report.imported
    assert (
        value(after, "relink_import_days_total") - value(before, "relink_import_days_total")
        == report.days
    )


async def test_a_revoked_grant_shows_as_failures_an_open_incident_and_notifications(
    scraper: httpx.AsyncClient, ctx: JobContext, sandbox: SandboxServer
) -> None:
    sandbox.add_fault("revoke_grant", grant=MANAGER)
    await sweep(ctx)

    samples = await scrape(scraper)

    assert total(samples, "relink_incidents_open", kind="reconnect_needed", provider="sandbox") == 1
    assert total(samples, "relink_notifications_total", kind="reconnect_needed") >= 1
    assert (
        value(
            samples,
            "relink_grant_status_changes_total",
            from_status="active",
            to_status="disconnected",
        )
        == 1
    )
    assert total(samples, "relink_data_sources", status="disconnected") == 8
    assert total(samples, "relink_grants", provider="sandbox", status="disconnected") == 1


async def test_failures_are_counted_by_error_class_and_provider(
    scraper: httpx.AsyncClient, ctx: JobContext, sandbox: SandboxServer
) -> None:
    sandbox.add_fault("server_error")
    await sweep(ctx)

    samples = await scrape(scraper)

    failures = {
        dict(labels)["error_class"]
        for (name, labels), v in samples.items()
        if name == "relink_import_failures_total" and v > 0
    }
    assert "provider_unavailable" in failures
    assert total(samples, "relink_import_failures_total", provider="sandbox") > 0


async def test_sweeps_and_requests_of_this_process_are_timed_and_counted(
    scraper: httpx.AsyncClient, ctx: JobContext
) -> None:
    before = await scrape(scraper)

    await sweep(ctx)
    await scraper.get("/r/a-link-token-of-a-client")
    after = await scrape(scraper)

    sweeps = value(after, "relink_sweep_duration_seconds_count") - value(
        before, "relink_sweep_duration_seconds_count"
    )
    assert sweeps == 1
    link_pages = value(
        after, "relink_http_requests_total", method="GET", route="/r/{token}", status="404"
    ) - value(before, "relink_http_requests_total", method="GET", route="/r/{token}", status="404")
    assert link_pages == 1


async def test_no_raw_path_or_token_becomes_a_label(scraper: httpx.AsyncClient) -> None:
    await scraper.get("/r/a-link-token-of-a-client")
    await scraper.get("/no/such/page/123")

    text = (await scraper.get("/metrics")).text

    assert "a-link-token-of-a-client" not in text
    assert "/no/such/page/123" not in text
    assert 'route="unmatched"' in text


async def test_queue_lag_is_reported_per_queue(scraper: httpx.AsyncClient) -> None:
    samples = await scrape(scraper)

    queues = {
        dict(labels)["queue"] for name, labels in samples if name == "relink_queue_lag_seconds"
    }
    assert queues == {"imports", "refreshes", "emails", "webhooks"}


async def test_a_scrape_answers_when_the_database_does_not() -> None:
    async for client in _app(UNREACHABLE_POSTGRES):
        samples = await scrape(client)

        assert value(samples, "relink_metrics_read_errors_total") == 1
        assert not [name for name, _ in samples if name.startswith("relink_imports")]


async def _scrape_from(
    database_url: str, address: str, *, token: str | None, headers: dict[str, str]
) -> httpx.Response:
    settings = Settings(embedded_worker=False, metrics_token=token)
    database = Database(database_url)
    app: FastAPI = create_app(database=database, settings=settings)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, client=(address, 40000))
            async with httpx.AsyncClient(transport=transport, base_url="http://ops") as client:
                return await client.get("/metrics", headers=headers)
    finally:
        await database.dispose()


async def test_without_a_token_only_this_machine_may_scrape(database_url: str) -> None:
    remote = await _scrape_from(database_url, "203.0.113.9", token=None, headers={})

    assert remote.status_code == 403 and "RELINK_METRICS_TOKEN" in remote.text
    assert "relink_" not in remote.text


async def test_with_a_token_a_scraper_must_present_it(database_url: str) -> None:
    wrong = await _scrape_from(
        database_url, "127.0.0.1", token="s3cret", headers={"Authorization": "Bearer nope"}
    )
    right = await _scrape_from(
        database_url, "203.0.113.9", token="s3cret", headers={"Authorization": "Bearer s3cret"}
    )

    assert wrong.status_code == 403
    assert right.status_code == 200 and "relink_imports_total" in right.text
