"""Settings as an operator gives them: environment, a secrets directory, a .env file."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

import relink
from relink.config import MissingSecretKeys, Settings
from relink.kit.crypto import generate_key
from tests.fixtures.processes import RELINK

README = Path(relink.__file__).parents[2] / "README.md"
POSTGRES_URL = "postgresql+psycopg://relink@127.0.0.1:5432/relink"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory of the test's own (``.env`` is read from the working directory)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_dotenv_file_in_the_working_directory_is_read(workdir: Path) -> None:
    (workdir / ".env").write_text("RELINK_MAIL_FROM=Ops <ops@agency.test>\nRELINK_PORT=9100\n")

    settings = Settings()

    assert (settings.mail_from, settings.port) == ("Ops <ops@agency.test>", 9100)


def test_a_secrets_directory_holds_one_setting_per_file(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets = workdir / "secrets"
    secrets.mkdir()
    key = generate_key()
    (secrets / "relink_secret_keys").write_text(key + "\n")
    (secrets / "relink_smtp_url").write_text("smtp://mailer:pw@mail.test:587")
    monkeypatch.setenv("RELINK_SECRETS_DIR", str(secrets))

    settings = Settings()

    assert settings.secret_keys.get_secret_value().strip() == key
    assert settings.smtp_url is not None
    assert settings.smtp_url.get_secret_value() == "smtp://mailer:pw@mail.test:587"


def test_environment_beats_secrets_directory_beats_dotenv(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets = workdir / "secrets"
    secrets.mkdir()
    (workdir / ".env").write_text(
        f"RELINK_SECRETS_DIR={secrets}\nRELINK_MAIL_FROM=from-dotenv\nRELINK_PORT=1111\n"
        "RELINK_HOST=dotenv.test\n"
    )
    (secrets / "relink_mail_from").write_text("from-secrets")
    (secrets / "relink_port").write_text("2222")
    monkeypatch.setenv("RELINK_PORT", "3333")

    settings = Settings()

    assert settings.port == 3333  # environment
    assert settings.mail_from == "from-secrets"  # secrets directory over .env
    assert settings.host == "dotenv.test"  # .env over the default


def test_a_secrets_directory_that_does_not_exist_is_an_error(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RELINK_SECRETS_DIR", str(workdir / "missing"))

    with pytest.raises(ValueError, match="RELINK_SECRETS_DIR"):
        Settings()


def test_on_postgresql_keys_must_be_configured(workdir: Path) -> None:
    settings = Settings(database_url=POSTGRES_URL, var_dir=workdir / "var")

    with pytest.raises(MissingSecretKeys) as refused:
        settings.key_list()

    assert "RELINK_SECRET_KEYS" in refused.value.message
    assert "relink keys generate" in refused.value.message
    assert not (workdir / "var" / "secret.key").exists()


def test_on_sqlite_a_key_is_generated_and_kept(workdir: Path) -> None:
    settings = Settings(var_dir=workdir / "var")

    first = settings.key_list()

    assert (workdir / "var" / "secret.key").read_text().strip() == first[0]
    assert Settings(var_dir=workdir / "var").key_list() == first


def test_the_app_refuses_to_start_on_postgresql_without_keys(workdir: Path) -> None:
    from relink.app import create_app

    with pytest.raises(MissingSecretKeys):
        create_app(settings=Settings(database_url=POSTGRES_URL, var_dir=workdir / "var"))


def test_relink_serve_says_what_to_set(workdir: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "RELINK_DATABASE_URL": POSTGRES_URL}

    done = subprocess.run(
        [RELINK, "serve"], env=env, cwd=workdir, capture_output=True, text=True, timeout=60
    )

    assert done.returncode == 2
    assert "RELINK_SECRET_KEYS" in done.stderr
    assert "Traceback" not in done.stderr


def test_every_setting_is_in_the_readme_table() -> None:
    section = README.read_text().split("## Configuration", 1)[1].split("\n## ", 1)[0]
    documented: set[str] = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            documented |= set(re.findall(r"`([A-Z_]+)`", line.split("|")[1]))

    assert documented == {name.upper() for name in Settings.model_fields}
