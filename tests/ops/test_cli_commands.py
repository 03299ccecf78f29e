"""The commands other modules build are registered on `relink`."""

from __future__ import annotations

from typer.testing import CliRunner

from relink.cli import app


def test_relink_tokens_help_lists_create_list_and_revoke() -> None:
    result = CliRunner().invoke(app, ["tokens", "--help"])

    assert result.exit_code == 0, result.output
    assert all(command in result.output for command in ("create", "list", "revoke"))
