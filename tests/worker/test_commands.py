"""`relink worker` and `relink scheduler` run the scaled mode only, and say what it needs."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from relink.cli import app


@pytest.mark.parametrize("command", ["worker", "scheduler"])
def test_the_scaled_commands_refuse_the_embedded_configuration_and_name_the_settings(
    command: str,
) -> None:
    result = CliRunner().invoke(app, [command])

    assert result.exit_code == 2
    assert "RELINK_REDIS_URL" in result.output
    assert "PostgreSQL" in result.output


def test_the_worker_refuses_a_queue_that_does_not_exist(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RELINK_REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setenv("RELINK_DATABASE_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")

    result = CliRunner().invoke(app, ["worker", "--queues", "jobs,urgent"])

    assert result.exit_code == 2
    assert "urgent" in result.output
