"""The relink command: config, migrations, demo, keys and users, as an operator runs them."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from relink.cli import app
from relink.config import get_settings
from relink.db import set_default_database
from relink.kit.crypto import generate_key

runner = CliRunner()


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    db = tmp_path / "cli.db"
    monkeypatch.setenv("RELINK_DATABASE_URL", f"sqlite+aiosqlite:///{db}")
    get_settings.cache_clear()
    set_default_database(None)
    return tmp_path


def invoke(*args: str, input: str | None = None) -> str:
    set_default_database(None)
    result = runner.invoke(app, list(args), input=input)
    assert result.exit_code == 0, result.output
    return result.output


def test_config_masks_secrets(cli_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = generate_key()
    monkeypatch.setenv("RELINK_SECRET_KEYS", key)
    monkeypatch.setenv("RELINK_SMTP_URL", "smtp://mailer:hunter22@127.0.0.1:25")
    get_settings.cache_clear()

    out = invoke("config")

    assert key not in out and "hunter22" not in out
    assert "********" in out


def test_a_missing_key_is_generated_into_the_var_dir(cli_env: Path) -> None:
    invoke("db", "upgrade")

    invoke("demo")

    key_file = cli_env / "var" / "secret.key"
    assert key_file.exists() and oct(key_file.stat().st_mode)[-3:] == "600"


def test_demo_prints_the_logins_and_if_empty_does_not_seed_twice(cli_env: Path) -> None:
    invoke("db", "upgrade")

    first = invoke("demo", "--if-empty")
    second = invoke("demo", "--if-empty")

    assert "limited@demo.relink.test" in first
    assert "demo data present" in second


def test_keys_rotate_then_the_old_key_can_go(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old, new = generate_key(), generate_key()
    monkeypatch.setenv("RELINK_SECRET_KEYS", old)
    get_settings.cache_clear()
    invoke("db", "upgrade")
    invoke("demo")

    monkeypatch.setenv("RELINK_SECRET_KEYS", f"{new},{old}")
    get_settings.cache_clear()
    out = invoke("keys", "rotate")
    monkeypatch.setenv("RELINK_SECRET_KEYS", new)
    get_settings.cache_clear()
    again = invoke("keys", "rotate")

    assert "re-encrypted 6 grants" in out and "re-encrypted 6 grants" in again


def test_users_create_adds_a_staff_user_with_listed_clients(cli_env: Path) -> None:
    invoke("db", "upgrade")
    invoke("demo")

    out = invoke(
        "users",
        "create",
        "--email",
        "new@agency.test",
        "--role",
        "staff",
        "--client",
        "1",
        "--client",
        "2",
        input="long-enough-pw\nlong-enough-pw\n",
    )

    assert "created new@agency.test" in out


def test_users_create_explains_a_bad_password(cli_env: Path) -> None:
    invoke("db", "upgrade")
    invoke("demo")
    set_default_database(None)

    result = runner.invoke(
        app,
        ["users", "create", "--email", "x@agency.test", "--role", "admin"],
        input="short\nshort\n",
    )

    assert result.exit_code == 2
    assert "at least 10 characters" in result.output
