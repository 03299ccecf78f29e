"""Write-path figures of issue 12, over real HTTP against the sandbox on a loopback port.

Each figure stands beside a reference measured in the same run (this machine is shared and
noisy: ratios and medians over repeats are what count):

- sweep throughput (data sources imported per second by ``worker.sweep``) ÷ the sandbox data
  endpoint's own ceiling: the same requests at the same concurrency through aiohttp, no DB;
- a grant shared by N data sources is revoked: the refresh that meets ``invalid_grant``
  (``refresh_grant``: one token call, then the grant, its N sources, events, incident, links
  and every admin's notification, committed) ÷ the bare set-based SQL making the same changes;
- bulk reconnect of that grant: ``repair_grant`` in one transaction, committed (every row
  connected, every notification resolved, the backfill queued) ÷ the bare SQL. The OAuth
  round trips of the callback are not in it (they are the same two calls at any size).

The sandbox runs in its own process; the database is a fresh one beside the one given
(``<name>_writes`` on PostgreSQL, ``<file>-writes.db`` on SQLite), so nothing else is touched.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import ColumnElement, Insert, delete, func, insert, literal, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from relink import migrate
from relink.config import get_settings
from relink.db import Database
from relink.grants.reconnect import repair_grant
from relink.grants.refresh import refresh_current
from relink.kit.crypto import SecretBox, generate_key
from relink.models import (
    Agency,
    Client,
    DataSource,
    Event,
    Grant,
    Incident,
    IncidentDataSource,
    Notification,
    Role,
    User,
)
from relink.providers.catalog import load_catalog
from relink.providers.http import HttpClient
from relink.providers.results import ExternalIdentity, TokenSet
from relink.providers.taxonomy import AuthKind, ErrorClass
from relink.status import DataSourceStatus, GrantStatus
from relink.users.service import create_user
from relink.worker.context import JobContext
from relink.worker.sweep import CONCURRENCY, sweep

SIZES = (1_000, 10_000)
REPEATS = 3
# The sandbox looks accounts up by scanning its world, so 10k sweeps are slow for it too (the
# ceiling pays the same): fewer repeats there keep the run within minutes.
SWEEP_REPEATS = {1_000: 3, 10_000: 2}
ADMINS = 3
SWEEP_TARGET = 0.5
RATIO_TARGET = 5.0


# Accounts at the sandbox: its lookups scan its world, so a world of 10k accounts would make
# the sandbox (and its ceiling) the figure; data sources of other clients share accounts.
ACCOUNTS = 1_000
MANAGER_ID = "mcc-bench-0001"


def _account_id(size: int, n: int) -> str:
    return f"cust-bench-{n % ACCOUNTS:06d}"


def _email(size: int) -> str:
    return f"agency{size}@bench.test"


def _refresh_token(size: int) -> str:
    return f"sbx_rt_bench_{size}_Zq8Lk2Vd9Rm4Tx"


def _serve_sandbox(port: int, sizes: tuple[int, ...]) -> None:  # pragma: no cover - subprocess
    import uvicorn

    from relink.sandbox.app import create_sandbox_app
    from relink.sandbox.seed import Account, Identity, World

    accounts = [Account(MANAGER_ID, "Bench MCC")]
    accounts += [Account(_account_id(0, n), f"Bench {n}", MANAGER_ID) for n in range(ACCOUNTS)]
    identities: list[Identity] = []
    for size in sizes:
        identities.append(
            Identity(
                subject=f"bench-{size}",
                email=_email(size),
                name=f"Bench {size}",
                password="sandbox",  # noqa: S106  (sandbox-only)
                account_ids=(MANAGER_ID,),
                demo_refresh_token=_refresh_token(size),
            )
        )
    world = World(identities=tuple(identities), accounts=tuple(accounts), api_keys=())
    app = create_sandbox_app(world=world, redirect_uris=["http://127.0.0.1:9/oauth/callback"])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _fresh_database(database_url: str) -> str:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        path = Path(url.database or "bench.db")
        fresh = path.with_name(f"{path.stem}-writes.db")
        fresh.unlink(missing_ok=True)
        return str(url.set(database=str(fresh)))
    name = f"{url.database}_writes"
    admin = create_async_engine(url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


async def run(database_url: str) -> dict[str, Any]:
    """Seed, start the sandbox, measure; answers the figures (seconds, ratios, p50/p95)."""
    url = await _fresh_database(database_url)
    migrate.upgrade(url)
    port = _free_port()
    process = multiprocessing.get_context("spawn").Process(
        target=_serve_sandbox, args=(port, SIZES), daemon=True
    )
    process.start()
    sandbox_url = f"http://127.0.0.1:{port}"
    database = Database(url)
    box = SecretBox([generate_key()])
    ctx = JobContext(
        database=database,
        box=box,
        catalog=load_catalog(base_urls={"sandbox_url": sandbox_url}),
        http=HttpClient(),
        settings=get_settings(),
        rng=random.Random(12),
    )
    figures: dict[str, Any] = {}
    try:
        await _wait_for(sandbox_url)
        seeded = {size: await _seed(database, box, size) for size in SIZES}
        for size, (agency_id, grant_id) in seeded.items():
            others = [g for s, (_, g) in seeded.items() if s != size]
            figures[f"sweep_{size}"] = await _sweep_figures(
                ctx, sandbox_url, size, grant_id, others
            )
            figures[f"revoke_reconnect_{size}"] = await _repair_figures(
                ctx, sandbox_url, size, agency_id, grant_id
            )
    finally:
        await ctx.close()
        await database.dispose()
        process.terminate()
        process.join(5)
    figures["peak_memory_mb"] = _vm_hwm_mb()
    return figures


async def _wait_for(sandbox_url: str) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(300):
            try:
                async with session.get(f"{sandbox_url}/healthz") as answer:
                    if answer.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("the sandbox did not start")


async def _seed(database: Database, box: SecretBox, size: int) -> tuple[int, int]:
    now = datetime.now(UTC)
    yesterday = now.date() - timedelta(days=1)
    async with database.transaction() as session:
        agency = Agency(name=f"Bench {size}", slug=f"bench-{size}")
        session.add(agency)
        await session.flush()
        for n in range(ADMINS):
            await create_user(
                session,
                agency_id=agency.id,
                email=f"admin{n}@{size}.bench.test",
                name=f"Admin {n}",
                password="bench-password-0",  # noqa: S106  (a throw-away database)
                role=Role.ADMIN,
                now=now,
            )
        await session.execute(
            insert(Client),
            [
                {"agency_id": agency.id, "name": f"Client {n:06d}", "created_at": now}
                for n in range(size)
            ],
        )
        grant = Grant(
            agency_id=agency.id,
            provider="sandbox",
            auth_kind=AuthKind.OAUTH2,
            external_identity=f"bench-{size}",
            identity_name=_email(size),
            credentials=box.seal({"refresh_token": _refresh_token(size)}),
            scopes=["ads.read", "ads.manage"],
            extra={},
        )
        session.add(grant)
        await session.flush()
        client_ids = list(
            await session.scalars(
                select(Client.id).where(Client.agency_id == agency.id).order_by(Client.id)
            )
        )
        await session.execute(
            insert(DataSource),
            [
                {
                    "agency_id": agency.id,
                    "client_id": client_ids[n],
                    "grant_id": grant.id,
                    "provider": "sandbox",
                    "auth_kind": grant.auth_kind,
                    "external_account_id": _account_id(size, n),
                    "external_account_name": f"Bench {size} {n}",
                    "status": DataSourceStatus.CONNECTED,
                    "complete_through": yesterday,
                    "consecutive_failures": 0,
                    "created_at": now,
                    "updated_at": now,
                }
                for n in range(size)
            ],
        )
        return agency.id, grant.id


def _spread(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50": round(statistics.median(ordered), 4), "p95": round(p95, 4)}


async def _sweep_figures(
    ctx: JobContext, sandbox_url: str, size: int, grant_id: int, others: list[int]
) -> dict[str, Any]:
    rates: list[float] = []
    ceilings: list[float] = []
    failed = 0
    far = datetime.now(UTC) + timedelta(days=365)
    async with ctx.database.transaction() as session:
        # Only this size's sources and grant are due: the sweep takes nothing else.
        await session.execute(
            update(DataSource).where(DataSource.grant_id.in_(others)).values(next_sync_at=far)
        )
        await session.execute(update(Grant).where(Grant.id.in_(others)).values(next_refresh_at=far))
    for _ in range(SWEEP_REPEATS.get(size, REPEATS)):
        async with ctx.database.transaction() as session:
            await session.execute(
                update(DataSource).where(DataSource.grant_id == grant_id).values(next_sync_at=None)
            )
        started = time.perf_counter()
        report = await sweep(ctx)
        elapsed = time.perf_counter() - started
        # A provider call that timed out on a loaded machine is retried by the next sweep;
        # the rate counts what was imported.
        failed += size - report.imported
        rates.append(report.imported / elapsed)
        ceilings.append(await _ceiling(ctx, sandbox_url, size, grant_id))
        _note(f"sweep {size}: {rates[-1]:.0f}/s, ceiling {ceilings[-1]:.0f}/s")
    ratios = [r / c for r, c in zip(rates, ceilings, strict=True)]
    return {
        "imported_per_second": _spread(rates),
        "sandbox_ceiling_per_second": _spread(ceilings),
        "ratio": _spread(ratios),
        "not_imported": failed,
        "target": f">= {SWEEP_TARGET}",
    }


async def _ceiling(ctx: JobContext, sandbox_url: str, size: int, grant_id: int) -> float:
    """The same data requests, same concurrency, straight at the sandbox: no database."""
    from relink.grants.service import open_credentials

    async with ctx.database.transaction() as session:
        grant = await session.get(Grant, grant_id)
        assert grant is not None
        token = (await open_credentials(session, box=ctx.box, grant=grant))["access_token"]
    today = datetime.now(UTC).date()
    params = {"start": (today - timedelta(days=1)).isoformat(), "end": today.isoformat()}
    headers = {"Authorization": f"Bearer {token}"}
    limiter = asyncio.Semaphore(CONCURRENCY)
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as http:

        async def one(n: int) -> None:
            async with limiter:
                path = f"{sandbox_url}/api/accounts/{_account_id(size, n)}/metrics"
                async with http.get(path, params=params) as answer:
                    assert answer.status == 200, answer.status
                    await answer.read()

        started = time.perf_counter()
        await asyncio.gather(*(one(n) for n in range(size)))
        return size / (time.perf_counter() - started)


async def _repair_figures(
    ctx: JobContext, sandbox_url: str, size: int, agency_id: int, grant_id: int
) -> dict[str, Any]:
    revoke, revoke_sql, reconnect, reconnect_sql = [], [], [], []
    for _ in range(REPEATS):
        await _restore(ctx, sandbox_url, size, agency_id, grant_id)
        await _sandbox(
            sandbox_url, "POST", "/admin/faults", kind="revoke_grant", grant=_email(size)
        )
        started = time.perf_counter()
        result = await refresh_current(ctx, grant_id=grant_id)
        revoke.append(time.perf_counter() - started)
        assert result.applied is not None and len(result.applied.disconnected_ids) == size
        await _check_told(ctx, grant_id, resolved=False)

        started = time.perf_counter()
        async with ctx.database.transaction() as session:
            grant = await session.get(Grant, grant_id)
            assert grant is not None
            repaired = await repair_grant(
                session,
                ctx=ctx,
                grant=grant,
                tokens=TokenSet("bench-access", _refresh_token(size), None),
                identity=ExternalIdentity(f"bench-{size}", email=_email(size)),
                reachable_account_ids={_account_id(size, n) for n in range(size)},
                now=ctx.now(),
                actor="user:bench",
            )
        reconnect.append(time.perf_counter() - started)
        _note(f"revoke {size}: {revoke[-1]:.3f}s, reconnect {reconnect[-1]:.3f}s")
        assert len(repaired.reconnected_ids) == size
        await _check_told(ctx, grant_id, resolved=True)

        await _restore(ctx, sandbox_url, size, agency_id, grant_id)
        revoke_sql.append(await _bare_revoke(ctx, agency_id, grant_id))
        reconnect_sql.append(await _bare_reconnect(ctx, agency_id, grant_id))
        _note(f"bare SQL {size}: revoke {revoke_sql[-1]:.3f}s, reconnect {reconnect_sql[-1]:.3f}s")
    return {
        "revoke_seconds": _spread(revoke),
        "revoke_bare_sql_seconds": _spread(revoke_sql),
        "revoke_ratio": _spread([a / b for a, b in zip(revoke, revoke_sql, strict=True)]),
        "reconnect_seconds": _spread(reconnect),
        "reconnect_bare_sql_seconds": _spread(reconnect_sql),
        "reconnect_ratio": _spread([a / b for a, b in zip(reconnect, reconnect_sql, strict=True)]),
        "target": f"<= {RATIO_TARGET}",
    }


async def _check_told(ctx: JobContext, grant_id: int, *, resolved: bool) -> None:
    async with ctx.database.transaction() as session:
        told = await session.scalar(
            select(func.count())
            .select_from(Notification)
            .join(Incident, Incident.id == Notification.incident_id)
            .where(
                Incident.grant_id == grant_id,
                Notification.resolved_at.is_not(None)
                if resolved
                else Notification.resolved_at.is_(None),
            )
        )
    assert told == ADMINS, (told, resolved)


async def _sandbox(sandbox_url: str, method: str, path: str, **body: Any) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, f"{sandbox_url}{path}", json=body or None) as answer,
    ):
        assert answer.status < 300, await answer.text()


async def _restore(
    ctx: JobContext, sandbox_url: str, size: int, agency_id: int, grant_id: int
) -> None:
    """Untimed: the grant live again with its first refresh token, no incident, no notice."""
    await _sandbox(sandbox_url, "POST", "/admin/reset")
    async with ctx.database.transaction() as session:
        incidents = select(Incident.id).where(Incident.agency_id == agency_id)
        await session.execute(delete(Notification).where(Notification.incident_id.in_(incidents)))
        await session.execute(
            delete(IncidentDataSource).where(IncidentDataSource.incident_id.in_(incidents))
        )
        await session.execute(delete(Incident).where(Incident.agency_id == agency_id))
        await session.execute(
            update(Grant)
            .where(Grant.id == grant_id)
            .values(
                status=GrantStatus.ACTIVE,
                status_reason=None,
                credentials=ctx.box.seal({"refresh_token": _refresh_token(size)}),
                refresh_failures=0,
                refresh_answer_lost_at=None,
            )
        )
        await session.execute(
            update(DataSource)
            .where(DataSource.grant_id == grant_id)
            .values(status=DataSourceStatus.CONNECTED, status_reason=None, status_detail=None)
        )


def _status_events(now: datetime, *where: ColumnElement[bool]) -> Insert:
    """One status-change event per data source matching ``where``, in one INSERT ... SELECT."""
    source = DataSource.__table__
    return insert(Event).from_select(
        ["agency_id", "at", "actor", "subject_type", "subject_id", "action", "details"],
        select(
            source.c.agency_id,
            literal(now, Event.at.type),
            literal("bench"),
            literal("data_source"),
            source.c.id,
            literal("status_changed"),
            literal({}, Event.details.type),
        ).where(*where),
    )


async def _bare_revoke(ctx: JobContext, agency_id: int, grant_id: int) -> float:
    """The minimal set-based statements making the revocation's changes, committed."""
    now = datetime.now(UTC)
    source = DataSource.__table__
    started = time.perf_counter()
    async with ctx.database.transaction() as session:
        await session.execute(
            update(Grant)
            .where(Grant.id == grant_id)
            .values(status=GrantStatus.DISCONNECTED, status_reason=ErrorClass.AUTH_REVOKED)
        )
        live = (DataSourceStatus.CONNECTED, DataSourceStatus.FAILING)
        await session.execute(
            _status_events(now, source.c.grant_id == grant_id, source.c.status.in_(live))
        )
        await session.execute(
            update(DataSource)
            .where(DataSource.grant_id == grant_id, DataSource.status.in_(live))
            .values(
                status=DataSourceStatus.DISCONNECTED,
                status_reason=ErrorClass.AUTH_REVOKED,
                updated_at=now,
            )
        )
        incident_id = await session.scalar(
            insert(Incident)
            .values(
                agency_id=agency_id,
                key=f"grant:{grant_id}:auth",
                error_class=ErrorClass.AUTH_REVOKED,
                kind="reconnect_needed",
                provider="sandbox",
                grant_id=grant_id,
                opened_at=now,
                last_seen_at=now,
                failure_count=1,
            )
            .returning(Incident.id)
        )
        await session.execute(
            insert(IncidentDataSource).from_select(
                ["incident_id", "data_source_id", "agency_id"],
                select(literal(incident_id), source.c.id, source.c.agency_id).where(
                    source.c.grant_id == grant_id
                ),
            )
        )
        await session.execute(
            insert(Notification).from_select(
                ["agency_id", "user_id", "incident_id", "kind", "payload", "created_at"],
                select(
                    User.agency_id,
                    User.id,
                    literal(incident_id),
                    literal("reconnect_needed"),
                    literal({"kind": "reconnect_needed"}, Notification.payload.type),
                    literal(now, Notification.created_at.type),
                ).where(User.agency_id == agency_id, User.role == Role.ADMIN),
            )
        )
    return time.perf_counter() - started


async def _bare_reconnect(ctx: JobContext, agency_id: int, grant_id: int) -> float:
    """The minimal set-based statements making the reconnect's changes, committed."""
    now = datetime.now(UTC)
    source = DataSource.__table__
    started = time.perf_counter()
    async with ctx.database.transaction() as session:
        await session.execute(
            update(Grant).where(Grant.id == grant_id).values(status=GrantStatus.ACTIVE)
        )
        await session.execute(
            _status_events(
                now, source.c.grant_id == grant_id, source.c.status == DataSourceStatus.DISCONNECTED
            )
        )
        await session.execute(
            update(DataSource)
            .where(
                DataSource.grant_id == grant_id,
                DataSource.status == DataSourceStatus.DISCONNECTED,
            )
            .values(status=DataSourceStatus.CONNECTED, next_sync_at=now, updated_at=now)
        )
        open_ = select(Incident.id).where(
            Incident.grant_id == grant_id, Incident.resolved_at.is_(None)
        )
        await session.execute(
            update(Notification)
            .where(Notification.incident_id.in_(open_))
            .values(resolved_at=now, read_at=now)
        )
        await session.execute(
            update(Incident)
            .where(Incident.grant_id == grant_id, Incident.resolved_at.is_(None))
            .values(resolved_at=now)
        )
    return time.perf_counter() - started


def _note(line: str) -> None:
    print(f"  [write_paths] {line}", file=sys.stderr, flush=True)


def _vm_hwm_mb() -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


if __name__ == "__main__":  # pragma: no cover - `python -m bench.write_paths <url>`
    import json

    print(json.dumps(asyncio.run(run(sys.argv[1])), indent=2))
