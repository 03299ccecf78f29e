"""The `relink sandbox fault ...` commands drive a running sandbox over its admin API."""

from __future__ import annotations

import json
from typing import Any

from typer.testing import CliRunner, Result

from relink.sandbox.cli import sandbox_cli
from tests.fixtures.sandbox import SandboxServer

runner = CliRunner()


def _json_output(result: Result) -> Any:
    # The sandbox runs in this process, so its log lines share the captured stdout.
    start = result.output.index("\n{") + 1 if not result.output.startswith("{") else 0
    return json.loads(result.output[start:])


def test_fault_add_switches_a_targeted_fault_on(sandbox: SandboxServer) -> None:
    result = runner.invoke(
        sandbox_cli,
        [
            "fault",
            "add",
            "rate_limit",
            "--grant",
            "manager@sandbox.test",
            "--retry-after",
            "5",
            "--url",
            sandbox.url,
        ],
    )

    assert result.exit_code == 0, result.output
    fault = _json_output(result)["fault"]
    assert fault["kind"] == "rate_limit"
    assert fault["subject"] == "sbx-user-1001" and fault["retry_after"] == 5


def test_fault_list_and_clear_round_trip(sandbox: SandboxServer) -> None:
    sandbox.add_fault("slow", delay=1)

    listed = runner.invoke(sandbox_cli, ["fault", "list", "--url", sandbox.url])
    cleared = runner.invoke(sandbox_cli, ["fault", "clear", "--url", sandbox.url])

    assert [f["kind"] for f in _json_output(listed)["faults"]] == ["slow"]
    assert _json_output(cleared) == {"cleared": 1}
    assert sandbox.state.faults.active(sandbox.state.now()) == []


def test_fault_add_with_a_bad_target_fails_with_the_reason(sandbox: SandboxServer) -> None:
    result = runner.invoke(
        sandbox_cli,
        ["fault", "add", "revoke_grant", "--account", "cust-100-000-0101", "--url", sandbox.url],
    )

    assert result.exit_code == 1
    assert "target --grant" in result.output


def test_fault_commands_report_an_unreachable_sandbox() -> None:
    result = runner.invoke(sandbox_cli, ["fault", "list", "--url", "http://127.0.0.1:9"])

    assert result.exit_code == 2
    assert "Cannot reach the sandbox" in result.output
