"""`relink users set-password` and `relink users deactivate`, run as the real command."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fastapi import FastAPI

from relink.demo import DEMO_PASSWORD
from tests.auth.conftest import browser, signed_in
from tests.fixtures.processes import RELINK, relink_env

STAFF = "staff@demo.relink.test"
NEW_PASSWORD = "a-brand-new-password"


async def _relink(*args: str, database_url: str, secret_key: str, tmp_path: Path) -> str:
    env = relink_env(
        database_url=database_url,
        secret_key=secret_key,
        sandbox_url="http://127.0.0.1:9",
        var_dir=tmp_path / "cli-var",
    )
    process = await asyncio.create_subprocess_exec(
        RELINK, *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return out.decode()


async def test_a_password_set_from_the_command_line_ends_every_session(
    app: FastAPI, database_url: str, secret_key: str, tmp_path: Path
) -> None:
    laptop = await signed_in(app, STAFF, DEMO_PASSWORD)

    out = await _relink(
        "users",
        "set-password",
        "--email",
        STAFF,
        "--password",
        NEW_PASSWORD,
        database_url=database_url,
        secret_key=secret_key,
        tmp_path=tmp_path,
    )

    assert "1 session ended" in out
    assert (await laptop.get("/api/me")).status_code == 401
    assert (await (await signed_in(app, STAFF, NEW_PASSWORD)).get("/api/me")).status_code == 200


async def test_a_user_deactivated_from_the_command_line_is_signed_out_and_kept_out(
    app: FastAPI, database_url: str, secret_key: str, tmp_path: Path
) -> None:
    laptop = await signed_in(app, STAFF, DEMO_PASSWORD)

    await _relink(
        "users",
        "deactivate",
        "--email",
        STAFF,
        database_url=database_url,
        secret_key=secret_key,
        tmp_path=tmp_path,
    )

    assert (await laptop.get("/api/me")).status_code == 401
    async with browser(app) as again:
        answer = await again.post("/api/session", json={"email": STAFF, "password": DEMO_PASSWORD})
    assert answer.status_code == 401
