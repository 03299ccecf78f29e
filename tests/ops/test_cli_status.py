"""`relink status` for cron and monitoring: exit 0 while nothing needs a person, 1 once a data
source is disconnected or an operations alert is open, and `--json` in the shape docs/cli.md
documents. The real command runs in its own process against the test's database."""

from __future__ import annotations

import json
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner

from relink.cli import app
from relink.cli_exits import ExitCode
from relink.kit.crypto import SecretBox
from relink.models import Client, Grant
from relink.status import DataSourceStatus
from relink.worker.context import JobContext
from relink.worker.sweep import sweep
from tests.fixtures.clock import Clock
from tests.fixtures.demo import Demo
from tests.fixtures.processes import PROCESS_TIMEOUT, relink_env, start
from tests.fixtures.sandbox import SandboxServer

MANAGER = "manager@sandbox.test"
# The demo's data sources on the manager's grant, and every data source of the demo.
ON_MANAGER = 8
IN_DEMO = 15
# docs/cli.md: the keys of the answer and of each row that needs a person.
STATUS_KEYS = {
    "schema_version",
    "checked_at",
    "healthy",
    "exit_code",
    "counts",
    "operations_alerts",
    "by_provider",
    "by_client",
    "needs_a_person_total",
    "needs_a_person",
}
ROW_KEYS = {
    "kind",
    "agency",
    "provider",
    "client",
    "account",
    "reason",
    "detail",
    "since",
    "data_source_id",
    "grant_id",
    "incident_id",
}


def run_status(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    process = start("status", *args, env=env)
    out, err = process.communicate(timeout=PROCESS_TIMEOUT)
    return subprocess.CompletedProcess(process.args, process.returncode, out.decode(), err.decode())


def status_json(env: dict[str, str]) -> tuple[int, dict[str, Any]]:
    done = run_status(env, "--json")
    answer: dict[str, Any] = json.loads(done.stdout)
    return done.returncode, answer


def env_for(
    database_url: str, secret_key: str, sandbox: SandboxServer, tmp_path: Path
) -> dict[str, str]:
    return relink_env(
        database_url=database_url, secret_key=secret_key, sandbox_url=sandbox.url, var_dir=tmp_path
    )


async def test_status_exits_0_when_nothing_needs_a_person(
    session: AsyncSession,
    demo: Demo,
    database_url: str,
    secret_key: str,
    sandbox: SandboxServer,
    tmp_path: Path,
) -> None:
    done = run_status(env_for(database_url, secret_key, sandbox, tmp_path))

    assert done.returncode == ExitCode.OK, done.stderr
    assert "Nothing needs a person" in done.stdout


async def test_status_exits_1_once_a_grant_is_revoked(
    session: AsyncSession,
    demo: Demo,
    ctx: JobContext,
    database_url: str,
    secret_key: str,
    sandbox: SandboxServer,
    tmp_path: Path,
) -> None:
    # given: the manager's sign-in revoked at the provider, and a sweep that finds it
    sandbox.add_fault("revoke_grant", grant=MANAGER)
    await sweep(ctx, check_every_grant=True)

    # when: on a terminal wide enough for the table's every column
    env = env_for(database_url, secret_key, sandbox, tmp_path)
    env["COLUMNS"] = "160"
    done = run_status(env)

    # then
    assert done.returncode == ExitCode.NEEDS_A_PERSON, done.stderr
    assert "Needs a person" in done.stdout and "auth_revoked" in done.stdout
    assert f"{ON_MANAGER} disconnected, 0 operations alerts open" in done.stdout


async def test_status_json_names_each_disconnected_data_source_with_its_reason_and_since(
    session: AsyncSession,
    demo: Demo,
    ctx: JobContext,
    clock: Clock,
    database_url: str,
    secret_key: str,
    sandbox: SandboxServer,
    tmp_path: Path,
) -> None:
    sandbox.add_fault("revoke_grant", grant=MANAGER)
    await sweep(ctx, check_every_grant=True)

    code, answer = status_json(env_for(database_url, secret_key, sandbox, tmp_path))

    assert code == ExitCode.NEEDS_A_PERSON
    assert set(answer) == STATUS_KEYS
    assert answer["healthy"] is False and answer["exit_code"] == 1
    assert answer["counts"] == {
        "connected": IN_DEMO - ON_MANAGER,
        "failing": 0,
        "disconnected": ON_MANAGER,
        "paused": 0,
        "removed": 0,
    }
    assert answer["needs_a_person_total"] == ON_MANAGER
    rows = answer["needs_a_person"]
    assert len(rows) == ON_MANAGER and all(set(row) == ROW_KEYS for row in rows)
    assert {row["kind"] for row in rows} == {"data_source"}
    assert {row["grant_id"] for row in rows} == {demo.shared_grant_id}
    assert {row["provider"] for row in rows} == {"sandbox"}
    assert {row["reason"] for row in rows} == {"auth_revoked"}
    assert "Acme Dental" in {row["client"] for row in rows}
    # when the sweep (on the test's clock) moved them to disconnected
    assert {datetime.fromisoformat(row["since"]) for row in rows} == {clock()}


async def test_status_json_counts_every_status_per_provider_and_client(
    session: AsyncSession,
    demo: Demo,
    database_url: str,
    secret_key: str,
    sandbox: SandboxServer,
    tmp_path: Path,
) -> None:
    code, answer = status_json(env_for(database_url, secret_key, sandbox, tmp_path))

    assert code == ExitCode.OK
    assert answer["healthy"] is True and answer["needs_a_person"] == []
    statuses = {s.value for s in DataSourceStatus}
    assert all(set(row["counts"]) == statuses for row in answer["by_provider"])
    assert all(set(row["counts"]) == statuses for row in answer["by_client"])
    assert sum(row["counts"]["connected"] for row in answer["by_provider"]) == IN_DEMO
    assert {row["client"] for row in answer["by_client"]} >= {"Acme Dental", "Harbor Hotel"}


async def test_status_exits_1_on_an_open_operations_alert(
    session: AsyncSession,
    demo: Demo,
    ctx: JobContext,
    database_url: str,
    secret_key: str,
    sandbox: SandboxServer,
    tmp_path: Path,
) -> None:
    # given: the provider refuses Relink's own client id (app_misconfigured): nobody is
    # disconnected, but every import of the provider stops until an admin fixes the app
    sandbox.add_fault("invalid_client")
    await sweep(ctx, check_every_grant=True)

    code, answer = status_json(env_for(database_url, secret_key, sandbox, tmp_path))

    assert code == ExitCode.NEEDS_A_PERSON
    assert answer["counts"]["disconnected"] == 0
    assert answer["operations_alerts"] == 1 and answer["needs_a_person_total"] == 1
    (alert,) = answer["needs_a_person"]
    assert alert["kind"] == "operations_alert" and alert["reason"] == "app_misconfigured"
    assert alert["provider"] == "sandbox" and alert["client"] is None
    assert alert["incident_id"] is not None and alert["since"] is not None


async def test_status_limit_lists_fewer_rows_but_counts_them_all(
    session: AsyncSession,
    demo: Demo,
    ctx: JobContext,
    database_url: str,
    secret_key: str,
    sandbox: SandboxServer,
    tmp_path: Path,
) -> None:
    sandbox.add_fault("revoke_grant", grant=MANAGER)
    await sweep(ctx, check_every_grant=True)

    done = run_status(
        env_for(database_url, secret_key, sandbox, tmp_path), "--json", "--limit", "3"
    )

    answer = json.loads(done.stdout)
    assert len(answer["needs_a_person"]) == 3 and answer["needs_a_person_total"] == ON_MANAGER


async def test_status_json_carries_no_secret(
    session: AsyncSession,
    demo: Demo,
    ctx: JobContext,
    box: SecretBox,
    database_url: str,
    secret_key: str,
    sandbox: SandboxServer,
    tmp_path: Path,
) -> None:
    sandbox.add_fault("revoke_grant", grant=MANAGER)
    await sweep(ctx, check_every_grant=True)
    session.expire_all()
    sealed = list(await session.scalars(select(Grant.credentials)))
    secrets = [secret_key, *sealed]
    for credentials in sealed:
        secrets += [v for v in box.open(credentials).values() if isinstance(v, str) and v]

    done = run_status(env_for(database_url, secret_key, sandbox, tmp_path), "--json")

    assert json.loads(done.stdout)["needs_a_person_total"] == ON_MANAGER
    assert not [s for s in secrets if s in done.stdout]


def test_a_usage_error_exits_2_before_reading_anything() -> None:
    result = CliRunner().invoke(app, ["status", "--limit", "-1"])

    assert result.exit_code == ExitCode.USAGE
    assert "--limit" in result.output


async def test_status_shows_a_name_as_written_not_as_markup(
    session: AsyncSession,
    demo: Demo,
    database_url: str,
    secret_key: str,
    sandbox: SandboxServer,
    tmp_path: Path,
) -> None:
    acme = demo.client_named("Acme Dental")
    await session.execute(update(Client).where(Client.id == acme.id).values(name="[bold]Acme[/]"))
    await session.commit()
    env = env_for(database_url, secret_key, sandbox, tmp_path)
    env["COLUMNS"] = "160"

    done = run_status(env)

    assert "[bold]Acme[/]" in done.stdout
