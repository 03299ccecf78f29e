"""`relink tokens create|list|revoke`, run through Typer's runner against the test's database."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from sqlalchemy import Select, select
from typer.testing import CliRunner, Result

from relink.api_tokens.values import parse_value
from relink.cli_tokens import CLI_ACTOR, tokens_app
from relink.db import Database
from relink.models import ApiToken, Event, TokenScope
from tests.api_tokens.conftest import STAFF, script


def _scalar(database_url: str, statement: Select[Any]) -> Any:
    """One value read from the test's database (the tests are not async: the command runs its
    own event loop)."""

    async def read() -> Any:
        database = Database(database_url)
        try:
            async with database.reading() as session:
                return await session.scalar(statement)
        finally:
            await database.dispose()

    return asyncio.run(read())


def _run(runner: CliRunner, *args: str) -> Result:
    result = runner.invoke(tokens_app, list(args))
    assert result.exit_code == 0, result.output
    return result


def _last_line(result: Result) -> str:
    """What the command printed last: a log line of the app served beside it in this process
    (a lingering thread of an earlier test) may come first."""
    return result.stdout.strip().splitlines()[-1]


def _created(runner: CliRunner, *args: str) -> str:
    """The value ``create`` printed: its last line of output (the app served beside the
    command in this process may log a line of its own meanwhile)."""
    return _run(runner, "create", *args).stdout.strip().splitlines()[-1]


def test_create_prints_the_value_alone_and_once(relink_tokens: CliRunner, app_url: str) -> None:
    result = _run(relink_tokens, "create", "--email", STAFF, "--name", "cron", "--scope", "write")

    value = result.stdout.strip().splitlines()[-1]
    assert parse_value(value) is not None
    assert result.stdout.count(value) == 1
    assert "shown only this once" in result.stderr
    assert value not in result.stderr
    with script(app_url, value) as client:
        assert client.get("/api/me").json()["email"] == STAFF
        assert client.post("/api/v1/notifications/read-all").status_code == 200


def test_create_makes_a_read_only_token_by_default(relink_tokens: CliRunner, app_url: str) -> None:
    value = _created(relink_tokens, "--email", STAFF, "--name", "cron")

    with script(app_url, value) as client:
        assert client.post("/api/v1/notifications/read-all").status_code == 403


def test_create_with_an_expiry_and_json_answers_every_field(relink_tokens: CliRunner) -> None:
    result = _run(
        relink_tokens,
        "create",
        *("--email", STAFF, "--name", "export", "--expires-in-days", "7", "--json"),
    )

    created = json.loads(_last_line(result))
    assert created["name"] == "export"
    assert created["scope"] == "read"
    assert created["user_email"] == STAFF
    assert created["expires_at"] is not None
    assert created["value"].startswith(created["prefix"])


def test_create_refuses_an_unknown_user_or_a_bad_expiry_saying_why(
    relink_tokens: CliRunner,
) -> None:
    unknown = relink_tokens.invoke(
        tokens_app, ["create", "--email", "nobody@x.test", "--name", "cron"]
    )
    too_long = relink_tokens.invoke(
        tokens_app, ["create", "--email", STAFF, "--name", "c", "--expires-in-days", "9999"]
    )

    assert unknown.exit_code == 2
    assert "no user with e-mail" in unknown.stderr
    assert too_long.exit_code == 2
    assert "--expires-in-days" in too_long.stderr
    assert "3650" in too_long.stderr


def test_list_shows_the_tokens_never_their_values(
    relink_tokens: CliRunner, database_url: str
) -> None:
    value = _created(relink_tokens, "--email", STAFF, "--name", "cron")

    table = _run(relink_tokens, "list").stdout
    listed = json.loads(_last_line(_run(relink_tokens, "list", "--email", STAFF, "--json")))

    token_id = _scalar(database_url, select(ApiToken.id))
    assert "cron" in table and "read-only" in table
    assert [(t["id"], t["name"], t["scope"]) for t in listed] == [(token_id, "cron", "read")]
    assert listed[0]["last_used_at"] is None
    parsed = parse_value(value)
    assert parsed is not None
    assert parsed.secret not in table + json.dumps(listed)


def test_revoke_by_id_stops_the_token_and_is_recorded(
    relink_tokens: CliRunner, app_url: str, database_url: str
) -> None:
    value = _created(relink_tokens, "--email", STAFF, "--name", "cron")
    token_id = _scalar(database_url, select(ApiToken.id))

    result = _run(relink_tokens, "revoke", str(token_id))

    assert f"revoked token {token_id} 'cron'" in result.stdout
    with script(app_url, value) as client:
        assert client.get("/api/me").status_code == 401
    assert json.loads(_last_line(_run(relink_tokens, "list", "--json"))) == []
    by = _scalar(
        database_url,
        select(Event.actor).where(
            Event.action == "api_token.revoked", Event.subject_id == token_id
        ),
    )
    assert by == CLI_ACTOR


def test_revoking_an_unknown_id_says_so(relink_tokens: CliRunner) -> None:
    result = relink_tokens.invoke(tokens_app, ["revoke", "424242"])

    assert result.exit_code == 2
    assert "API token not found" in result.stderr


def test_the_scope_given_is_the_scope_kept(relink_tokens: CliRunner, database_url: str) -> None:
    _run(relink_tokens, "create", "--email", STAFF, "--name", "w", "--scope", "write")

    assert _scalar(database_url, select(ApiToken.scope)) is TokenScope.WRITE
