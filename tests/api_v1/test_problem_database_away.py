"""The database going away under /api/v1 is a 503 problem with Retry-After (PostgreSQL behind
a proxy the test can shut, as in tests/ops/test_database_away.py)."""

from __future__ import annotations

from relink.errors import DATABASE_RETRY_AFTER_SECONDS
from tests.api_v1.problem_checks import problem_of
from tests.ops.test_database_away import SAYS_AWAY, AwayApp, away_app, own_database

__all__ = ["away_app", "own_database"]


def test_the_database_away_is_a_503_problem_saying_when_to_retry(away_app: AwayApp) -> None:
    admin = away_app.admin()
    away_app.database_goes_away()

    answer = admin.get("/api/v1/data-sources")

    body = problem_of(answer, status=503, code="database_unavailable")
    assert body["detail"].startswith(SAYS_AWAY)
    assert answer.headers["retry-after"] == str(DATABASE_RETRY_AFTER_SECONDS)
