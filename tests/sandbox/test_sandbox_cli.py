"""`relink sandbox serve` listens where the settings say; the fault commands drive a running
sandbox over its admin API, found through the same settings."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner, Result

from relink.config import get_settings
from relink.sandbox.cli import sandbox_cli
from tests.fixtures.processes import start
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


# How long a fresh `relink sandbox serve` process may take to start answering (imports, seed).
SERVE_STARTUP_SECONDS = 60.0


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/admin/stats", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


@contextmanager
def _sandbox_process(env: dict[str, str], *options: str) -> Iterator[subprocess.Popen[bytes]]:
    """`relink sandbox serve` in its own process, configured by its environment (and options)."""
    process = start("sandbox", "serve", *options, env=env)
    try:
        yield process
    finally:
        process.terminate()
        process.communicate(timeout=SERVE_STARTUP_SECONDS)


def _wait_until_answering(process: subprocess.Popen[bytes], url: str) -> None:
    deadline = time.monotonic() + SERVE_STARTUP_SECONDS
    while not _answers(url):
        if process.poll() is not None:
            _, stderr = process.communicate()
            pytest.fail(f"`relink sandbox serve` exited: {stderr.decode()[-2000:]}")
        assert time.monotonic() < deadline, f"nothing answered at {url}"
        time.sleep(0.1)


def _sandbox_env(tmp_path: Path, **relink: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELINK_")}
    env["RELINK_VAR_DIR"] = str(tmp_path / "var")
    return env | {f"RELINK_{name.upper()}": value for name, value in relink.items()}


def test_sandbox_serve_listens_on_the_configured_host_and_port(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: only the settings say where (a second loopback address, so the host is checked)
    host = "127.0.0.2"
    port = _free_port(host)
    env = _sandbox_env(tmp_path, sandbox_host=host, sandbox_port=str(port))

    with _sandbox_process(env) as process:
        # then: it answers there, and not on the default interface
        _wait_until_answering(process, f"http://{host}:{port}")
        assert not _answers(f"http://127.0.0.1:{port}")

        # and the fault commands find it through the same settings, without --url
        monkeypatch.setenv("RELINK_SANDBOX_HOST", host)
        monkeypatch.setenv("RELINK_SANDBOX_PORT", str(port))
        get_settings.cache_clear()
        listed = runner.invoke(sandbox_cli, ["fault", "list"])

    assert listed.exit_code == 0, listed.output
    assert _json_output(listed) == {"faults": []}


def test_sandbox_serve_port_option_overrides_the_setting(tmp_path: Path) -> None:
    configured, chosen = _free_port("127.0.0.1"), _free_port("127.0.0.1")
    env = _sandbox_env(tmp_path, sandbox_port=str(configured))

    with _sandbox_process(env, "--port", str(chosen)) as process:
        _wait_until_answering(process, f"http://127.0.0.1:{chosen}")
        assert not _answers(f"http://127.0.0.1:{configured}")
