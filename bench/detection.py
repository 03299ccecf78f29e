"""Detection figures: how long from a revocation at the provider to the bell, by path, and
what the probe costs.

Over real HTTP: the sandbox and the app each serve on a loopback port, as in `make run`.
- signal: the sandbox revokes the demo's shared grant and pushes its Security Event Token;
  the delay is from the revocation to the notification (the bell), per round.
- probe: no signal is registered; the probe runs on a short interval (ticks as the
  scheduler's); the delay is from the revocation to the notification. It scales with the
  interval: uniform over one interval plus a tick, so the default's figure is computed too.
- cost: probe calls per hour, measured on a sample of API-key grants over one simulated hour
  of real probe calls, against the schedule's figure; then at 10k grants, schedule and budget.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import statistics
import threading
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import httpx
import uvicorn
from sqlalchemy import func, select

from relink import migrate
from relink.app import create_app
from relink.config import Settings
from relink.db import Database
from relink.demo import seed_demo
from relink.grants.refresh import refresh_current
from relink.incidents import service as incidents
from relink.kit.crypto import SecretBox, generate_key
from relink.models import DataSource, Grant, Incident, Notification
from relink.models.base import utcnow
from relink.providers.catalog import load_catalog
from relink.providers.http import HttpClient
from relink.providers.taxonomy import AuthKind
from relink.sandbox.app import create_sandbox_app
from relink.sandbox.seed import API_KEY_ACCOUNTS
from relink.signals.probe import calls_per_hour, probe_due
from relink.status import DataSourceStatus, GrantStatus
from relink.status_writer import transition_many
from relink.worker.context import JobContext

MANAGER = "manager@sandbox.test"
SIGNAL_ROUNDS = 10
PROBE_ROUNDS = 8
# The probe measured on a short interval, so rounds take seconds; ticks as the scheduler's.
BENCH_PROBE_INTERVAL = 4.0
BENCH_PROBE_TICK = 0.25
DEFAULT_PROBE_INTERVAL = Settings.model_fields["probe_interval_seconds"].default
COST_SAMPLE = 200
AT_SCALE = 10_000
WAIT_SECONDS = 60.0


async def run(database_url: str) -> dict[str, Any]:
    """Both detection paths' delays (p50/p95, seconds) and the probe's cost at 10k grants."""
    migrate.upgrade(database_url)
    key = generate_key()
    box = SecretBox([key])
    database = Database(database_url)
    figures: dict[str, Any] = {}
    try:
        async with database.transaction() as session:
            agency = await seed_demo(session, box=box)
            agency_id = agency.id
        grant_id = await database_scalar(
            database, select(Grant.id).where(Grant.provider == "sandbox").order_by(Grant.id)
        )
        sandbox_app = create_sandbox_app(redirect_uris=["http://127.0.0.1/cb"])
        with _serve(sandbox_app, _bound(), lifespan="off") as sbx_url:
            sbx = sandbox_app
            app_socket = _bound()
            app_url = _url(app_socket)
            settings = Settings(
                database_url=database_url,
                secret_keys=key,
                sandbox_url=sbx_url,
                base_url=app_url,  # where the sandbox pushes: the app's own address
                embedded_worker=False,
            )
            app = create_app(database=Database(database_url), settings=settings)
            with _serve(app, app_socket, lifespan="on"):
                await _wait(lambda: _registered(sbx, app_url))
                signal = await _signal_rounds(database, sbx_url, agency_id, grant_id)
            figures |= _percentiles("signal", signal)
            state = sbx.state.sandbox
            state.transmitter.streams.clear()
            state.transmitter.deauthorize_callbacks.clear()
            async with _context(database, box, sbx_url, BENCH_PROBE_INTERVAL) as ctx:
                probe = await _probe_rounds(ctx, sbx_url, agency_id, grant_id)
            figures |= _percentiles("probe", probe)
            figures["probe_interval_measured_s"] = BENCH_PROBE_INTERVAL
            figures["probe_at_default_interval_s"] = {
                "interval": DEFAULT_PROBE_INTERVAL,
                "p50": round(DEFAULT_PROBE_INTERVAL * 0.5, 1),
                "p95": round(DEFAULT_PROBE_INTERVAL * 0.95, 1),
            }
            figures |= await _cost(database, box, sbx, sbx_url, agency_id)
    finally:
        await database.dispose()
    return figures


async def database_scalar(database: Database, statement: Any) -> Any:
    async with database.transaction() as session:
        return await session.scalar(statement)


def _registered(sandbox: Any, app_url: str) -> bool:
    return f"{app_url}/signals/risc" in sandbox.state.sandbox.transmitter.streams


async def _wait(check: Any) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not (await check() if asyncio.iscoroutinefunction(check) else check()):
        if time.monotonic() > deadline:
            raise RuntimeError("the bench waited too long")
        await asyncio.sleep(0.02)


async def _bell_at(database: Database, since: datetime) -> datetime | None:
    """When the first notification of an incident opened after ``since`` was created."""
    async with database.transaction() as session:
        incident_id = await session.scalar(
            select(Incident.id).where(Incident.opened_at >= since, Incident.resolved_at.is_(None))
        )
        if incident_id is None:
            return None
        created: datetime | None = await session.scalar(
            select(func.min(Notification.created_at)).where(Notification.incident_id == incident_id)
        )
        return created


async def _revoke_and_time(database: Database, sandbox_url: str) -> float:
    started = datetime.now(UTC)
    async with httpx.AsyncClient(base_url=sandbox_url, timeout=10) as http:
        answer = await http.post("/admin/faults", json={"kind": "revoke_grant", "grant": MANAGER})
        answer.raise_for_status()
    bell: list[datetime] = []

    async def rang() -> bool:
        at = await _bell_at(database, started)
        if at is not None:
            bell.append(at)
        return at is not None

    await _wait(rang)
    return (bell[0] - started).total_seconds()


async def _restore(database: Database, sandbox_url: str, agency_id: int, grant_id: int) -> None:
    """Heal the sandbox and put the grant and its data sources back, for the next round."""
    async with httpx.AsyncClient(base_url=sandbox_url, timeout=10) as http:
        (await http.delete("/admin/faults")).raise_for_status()
    now = utcnow()
    async with database.transaction() as session:
        await transition_many(session, [grant_id], to=GrantStatus.ACTIVE, actor="bench", now=now)
        ids = list(
            await session.scalars(select(DataSource.id).where(DataSource.grant_id == grant_id))
        )
        await transition_many(session, ids, to=DataSourceStatus.CONNECTED, actor="bench", now=now)
        keys = list(
            await session.scalars(select(Incident.key).where(Incident.resolved_at.is_(None)))
        )
        await incidents.resolve(session, agency_id=agency_id, keys=keys, now=now, by="bench")


async def _signal_rounds(
    database: Database, sandbox_url: str, agency_id: int, grant_id: int
) -> list[float]:
    delays = []
    for _ in range(SIGNAL_ROUNDS):
        delays.append(await _revoke_and_time(database, sandbox_url))
        await _restore(database, sandbox_url, agency_id, grant_id)
    return delays


async def _probe_rounds(
    ctx: JobContext, sandbox_url: str, agency_id: int, grant_id: int
) -> list[float]:
    """Each round revokes at a random moment of the probe's cycle, as a real user would."""
    delays = []
    phase = random.Random(5)
    for _ in range(PROBE_ROUNDS):
        await refresh_current(ctx, grant_id=grant_id)
        stop = asyncio.Event()
        ticking = asyncio.create_task(_tick(ctx, stop))
        try:
            await asyncio.sleep(phase.uniform(0, BENCH_PROBE_INTERVAL))
            delays.append(await _revoke_and_time(ctx.database, sandbox_url))
        finally:
            stop.set()
            await ticking
        await _restore(ctx.database, sandbox_url, agency_id, grant_id)
    return delays


async def _tick(ctx: JobContext, stop: asyncio.Event) -> None:
    """The scheduler's periodic run, on the bench's short tick."""
    while not stop.is_set():
        await probe_due(ctx)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=BENCH_PROBE_TICK)


async def _cost(
    database: Database, box: SecretBox, sandbox: Any, sandbox_url: str, agency_id: int
) -> dict[str, Any]:
    """Probe calls in one simulated hour for a sample of grants, against the schedule."""
    api_key = API_KEY_ACCOUNTS[0].demo_api_key
    async with database.transaction() as session:
        sealed = box.seal({"api_key": api_key})
        session.add_all(
            Grant(
                agency_id=agency_id,
                provider="sandbox_api",
                auth_kind=AuthKind.API_KEY,
                credentials=sealed,
                external_identity=f"bench-{n}",
            )
            for n in range(COST_SAMPLE)
        )
    grants = int(
        await database_scalar(
            database,
            select(func.count()).where(
                Grant.provider == "sandbox_api", Grant.status == GrantStatus.ACTIVE
            ),
        )
    )
    clock = _Clock()
    async with _context(database, box, sandbox_url, DEFAULT_PROBE_INTERVAL, clock=clock) as ctx:
        stats = sandbox.state.sandbox.stats
        before = stats.api_requests["key_verify"]
        tick = timedelta(seconds=30)  # the scheduler's default tick
        for _ in range(int(timedelta(hours=1) / tick)):
            await probe_due(ctx)
            clock.now += tick
        measured = stats.api_requests["key_verify"] - before
        budget = ctx.catalog.get("sandbox_api").probe.calls_per_minute
        google_budget = ctx.catalog.get("google_ads").probe.calls_per_minute
    return {
        "probe_cost_sample_grants": grants,
        "probe_cost_sample_calls_per_hour_measured": measured,
        "probe_cost_sample_calls_per_hour_schedule": calls_per_hour(
            grants, interval_seconds=DEFAULT_PROBE_INTERVAL, calls_per_minute=budget
        ),
        "probe_cost_10k_calls_per_hour_sandbox": calls_per_hour(
            AT_SCALE, interval_seconds=DEFAULT_PROBE_INTERVAL, calls_per_minute=budget
        ),
        "probe_cost_10k_calls_per_hour_google": calls_per_hour(
            AT_SCALE, interval_seconds=DEFAULT_PROBE_INTERVAL, calls_per_minute=google_budget
        ),
    }


class _Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now


@contextlib.asynccontextmanager
async def _context(
    database: Database, box: SecretBox, sandbox_url: str, interval: float, clock: Any = utcnow
) -> AsyncIterator[JobContext]:
    settings = Settings(sandbox_url=sandbox_url, probe_interval_seconds=interval)
    ctx = JobContext(
        database=database,
        box=box,
        catalog=load_catalog(base_urls={"sandbox_url": sandbox_url}),
        http=HttpClient(),
        settings=settings,
        clock=clock,
        rng=random.Random(3),
    )
    try:
        yield ctx
    finally:
        await ctx.close()


def _percentiles(path: str, delays: list[float]) -> dict[str, Any]:
    ordered = sorted(delays)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        f"detection_{path}_p50_s": round(statistics.median(ordered), 3),
        f"detection_{path}_p95_s": round(p95, 3),
        f"detection_{path}_rounds": len(ordered),
    }


def _bound() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return sock


def _url(sock: socket.socket) -> str:
    return f"http://127.0.0.1:{sock.getsockname()[1]}"


@contextlib.contextmanager
def _serve(
    app: Any, sock: socket.socket, *, lifespan: Literal["auto", "on", "off"]
) -> Iterator[str]:
    """Serve ``app`` on ``sock`` in a thread, as `make run` serves it; yields its URL."""
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan=lifespan)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the server did not start")
        time.sleep(0.01)
    try:
        yield _url(sock)
    finally:
        server.should_exit = True
        thread.join(15)
        sock.close()
