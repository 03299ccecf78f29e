"""`relink check` sweeps now and sums up; `relink status` shows health per provider and client."""

from __future__ import annotations

import json
import re
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from tests.fixtures.demo import Demo
from tests.fixtures.processes import relink_env, start
from tests.fixtures.sandbox import SandboxServer


async def test_check_sweeps_and_status_reports_the_disconnects(
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
    env["COLUMNS"] = "120"
    sandbox.add_fault("revoke_grant", grant="manager@sandbox.test")

    check_out, check_err = start("check", env=env).communicate(timeout=120)
    status_out, _ = start("status", env=env).communicate(timeout=120)

    check_text, status_text = check_out.decode(), status_out.decode()
    assert "data sources imported" in check_text, check_err.decode()
    assert "disconnected" in check_text and " 8 " in check_text
    assert re.search(r"incidents opened\W+1\b", check_text), check_text
    assert "By provider" in status_text and "Acme Dental" in status_text
    sandbox_row = next(line for line in status_text.splitlines() if "sandbox " in line)
    assert "8" in sandbox_row


async def test_check_json_prints_one_object_once_the_sweep_has_finished(
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
    sandbox.add_fault("revoke_grant", grant="manager@sandbox.test")

    process = start("check", "--json", env=env)
    out, err = process.communicate(timeout=120)

    assert process.returncode == 0, err.decode()
    answer = json.loads(out)
    assert answer["job"] == "worker.sweep" and answer["state"] == "done"
    assert answer["started_at"] <= answer["finished_at"]
    assert answer["report"]["disconnected"] == 8
    assert answer["report"]["incidents_opened"] == 1
