"""Service tokens from the command line (``relink tokens create --service``, ``rotate``) and
at the importer endpoints: the agency's, narrow, rotated without downtime, every use seen."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from sqlalchemy import Select, select, update
from typer.testing import CliRunner, Result

from relink.cli_tokens import tokens_app
from relink.db import Database
from relink.models import ApiToken, DataSource
from relink.models.base import utcnow
from tests.api_tokens.conftest import STAFF, script

ADMIN = "admin@demo.relink.test"


def _read(database_url: str, statement: Select[Any]) -> Any:
    async def read() -> Any:
        database = Database(database_url)
        try:
            async with database.reading() as session:
                return (await session.execute(statement)).all()
        finally:
            await database.dispose()

    return asyncio.run(read())


def _run(runner: CliRunner, *args: str, code: int = 0) -> Result:
    result = runner.invoke(tokens_app, list(args))
    assert result.exit_code == code, result.output
    return result


def _source_id(database_url: str) -> int:
    return int(_read(database_url, select(DataSource.id).order_by(DataSource.id).limit(1))[0][0])


def test_an_admin_creates_a_service_token_with_the_importers_permissions(
    relink_tokens: CliRunner, database_url: str
) -> None:
    created = json.loads(
        _run(
            relink_tokens, "create", "--service", "--email", ADMIN, "--name", "warehouse", "--json"
        ).stdout.splitlines()[-1]
    )

    assert created["kind"] == "service" and created["user_email"] is None
    assert created["permissions"] == [
        "credentials:read",
        "failures:write",
        "imports:write",
        "read",
    ]
    assert created["value"].startswith("rlk_")


def test_only_an_admin_creates_a_service_token(relink_tokens: CliRunner) -> None:
    result = _run(relink_tokens, "create", "--service", "--email", STAFF, "--name", "x", code=2)

    assert "not an admin" in result.output


def test_an_unknown_permission_is_refused_naming_the_known_ones(
    relink_tokens: CliRunner,
) -> None:
    result = _run(
        relink_tokens,
        "create",
        "--service",
        "--email",
        ADMIN,
        "--name",
        "x",
        "--permission",
        "credentials:write",
        code=2,
    )

    assert "unknown permission" in result.output and "credentials:read" in result.output


def test_a_rotated_token_works_beside_its_successor_until_the_overlap_ends(
    relink_tokens: CliRunner, app_url: str, database_url: str
) -> None:
    old = (
        _run(relink_tokens, "create", "--service", "--email", ADMIN, "--name", "platform")
        .stdout.strip()
        .splitlines()[-1]
    )
    old_id = int(_read(database_url, select(ApiToken.id).where(ApiToken.name == "platform"))[0][0])
    source_id = _source_id(database_url)
    path = f"/api/v1/data-sources/{source_id}/credentials"

    new = _run(relink_tokens, "rotate", str(old_id), "--overlap-hours", "1").stdout.strip()
    new = new.splitlines()[-1]

    with script(app_url, old) as before, script(app_url, new) as after:
        assert before.get(path).status_code == 200
        assert after.get(path).status_code == 200
        _end_overlap(database_url, old_id)
        assert before.get(path).json()["code"] == "token_expired"
        assert after.get(path).status_code == 200


def test_the_list_shows_service_tokens_as_the_agencys(
    relink_tokens: CliRunner,
) -> None:
    _run(relink_tokens, "create", "--service", "--email", ADMIN, "--name", "platform")

    listed = json.loads(_run(relink_tokens, "list", "--json").stdout.splitlines()[-1])

    service = [t for t in listed if t["kind"] == "service"]
    assert [(t["name"], t["user_email"]) for t in service] == [("platform", None)]


def test_a_service_tokens_use_is_recorded(
    relink_tokens: CliRunner, app_url: str, database_url: str
) -> None:
    value = (
        _run(relink_tokens, "create", "--service", "--email", ADMIN, "--name", "platform")
        .stdout.strip()
        .splitlines()[-1]
    )

    with script(app_url, value) as importer:
        importer.get(f"/api/v1/data-sources/{_source_id(database_url)}/credentials")

    [(used_at,)] = _read(
        database_url, select(ApiToken.last_used_at).where(ApiToken.name == "platform")
    )
    assert used_at is not None


def _end_overlap(database_url: str, token_id: int) -> None:
    async def write() -> None:
        database = Database(database_url)
        try:
            async with database.transaction() as session:
                await session.execute(
                    update(ApiToken).where(ApiToken.id == token_id).values(expires_at=utcnow())
                )
        finally:
            await database.dispose()

    asyncio.run(write())
