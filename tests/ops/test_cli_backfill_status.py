"""`relink backfill status --json`: every backfill after a reconnect, days done of days
missing, in the shape docs/cli.md documents."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relink.cli_exits import ExitCode
from relink.models import DataSource
from relink.models.base import utcnow
from tests.fixtures.demo import Demo
from tests.fixtures.processes import PROCESS_TIMEOUT, relink_env, start
from tests.fixtures.sandbox import SandboxServer

BACKFILL_KEYS = {"schema_version", "checked_at", "running", "backfills"}
ROW_KEYS = {
    "data_source_id",
    "client",
    "provider",
    "missing_since",
    "days_done",
    "days_total",
    "done",
}


async def test_backfill_status_json_lists_each_backfill_with_its_days(
    session: AsyncSession,
    demo: Demo,
    database_url: str,
    secret_key: str,
    sandbox: SandboxServer,
    tmp_path: Path,
) -> None:
    # given: a reconnect's backfill of Acme Dental's source, 10 days missing, 4 imported again
    today = utcnow().date()
    gap_start = today - timedelta(days=9)
    acme = demo.client_named("Acme Dental")
    source_id = await session.scalar(
        select(DataSource.id).where(DataSource.client_id == acme.id).order_by(DataSource.id)
    )
    await session.execute(
        update(DataSource)
        .where(DataSource.id == source_id)
        .values(backfill_from=gap_start, complete_through=gap_start + timedelta(days=3))
    )
    await session.commit()
    env = relink_env(
        database_url=database_url, secret_key=secret_key, sandbox_url=sandbox.url, var_dir=tmp_path
    )

    # when
    process = start("backfill", "status", "--json", env=env)
    out, err = process.communicate(timeout=PROCESS_TIMEOUT)

    # then
    assert process.returncode == ExitCode.OK, err.decode()
    answer = json.loads(out)
    assert set(answer) == BACKFILL_KEYS and answer["running"] == 1
    (row,) = answer["backfills"]
    assert set(row) == ROW_KEYS
    assert row["data_source_id"] == source_id and row["client"] == "Acme Dental"
    assert row["provider"] == "sandbox" and row["missing_since"] == gap_start.isoformat()
    assert (row["days_done"], row["days_total"], row["done"]) == (4, 10, False)


async def test_backfill_status_json_with_none_running_is_an_empty_list(
    session: AsyncSession,
    demo: Demo,
    database_url: str,
    secret_key: str,
    sandbox: SandboxServer,
    tmp_path: Path,
) -> None:
    env = relink_env(
        database_url=database_url, secret_key=secret_key, sandbox_url=sandbox.url, var_dir=tmp_path
    )

    process = start("backfill", "status", "--json", env=env)
    out, err = process.communicate(timeout=PROCESS_TIMEOUT)

    assert process.returncode == ExitCode.OK, err.decode()
    assert json.loads(out)["backfills"] == [] and json.loads(out)["running"] == 0
