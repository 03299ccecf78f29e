"""schemathesis against /openapi.json over real HTTP, as a script holding an admin's
read-write API token: every operation of /api/v1, read and write, with valid and invalid
input, a bounded number of examples each. None may answer a server error, a status it does
not declare, a content type it does not declare, or a body that breaks its own schema.

Half the examples of an operation with ids in its path name rows that exist (read from the
API first), so the writes reach their services instead of stopping at a 404.

The figures (operations, examples, failures) are printed and written to
test-artifacts/schemathesis-<database>.json. Re-run:
.venv/bin/pytest -n 0 -s tests/api_v1/test_schemathesis.py
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from relink.db import Database
from tests.api_tokens.conftest import made_token
from tests.fixtures.demo import Demo
from tests.fixtures.sandbox import SandboxServer
from tests.fixtures.sweeps import sweep_now

# Per operation and generation mode (valid input, then invalid): 46 operations x 2 x 12 (1,104
# examples) take about 15 s on each database on an idle machine here.
EXAMPLES_PER_MODE = 12
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
REVOKED_LOGIN = "harbor@sandbox.test"
ARTIFACTS = Path("test-artifacts")
# Failures kept per operation: enough to see a pattern, not a wall of the same one.
KEPT_FAILURES = 3


@dataclass
class Figures:
    operations: int = 0
    examples: int = 0
    failures: dict[str, list[str]] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)

    def failed(self, label: str, message: str) -> None:
        kept = self.failures.setdefault(label, [])
        if len(kept) < KEPT_FAILURES and message not in kept:
            kept.append(message)

    def as_json(self, seconds: float) -> dict[str, Any]:
        return {
            "operations": self.operations,
            "examples": self.examples,
            "failing_operations": len(self.failures),
            "failures": self.failures,
            "statuses": dict(sorted(self.statuses.items())),
            "seconds": round(seconds, 1),
        }


@pytest.fixture
async def admin_token(demo: Demo, database: Database) -> str:
    """A read-write token of the demo's admin, made through the tokens service."""
    return (await made_token(database, demo.admin.id, name="schemathesis"))[1]


def _known_ids(base: str, session: requests.Session, *, own_id: int) -> dict[str, list[Any]]:
    """Ids of rows that exist, by the path parameter that names them: a revoked login's
    incident and notifications, a job, a reconnect link, and the demo's own rows."""

    def ids(path: str, **params: Any) -> list[int]:
        answer = session.get(base + path, params={"limit": 20, **params}, timeout=10)
        answer.raise_for_status()
        return [int(item["id"]) for item in answer.json()["items"]]

    grants = ids("/api/v1/grants")
    link = session.post(f"{base}/api/v1/grants/{grants[0]}/reconnect-links", json={}, timeout=10)
    links = ids(f"/api/v1/grants/{grants[0]}/reconnect-links")
    assert link.status_code == 201 and links
    return {
        "data_source_id": ids("/api/v1/data-sources"),
        "grant_id": grants,
        "client_id": ids("/api/v1/clients"),
        "notification_id": ids("/api/v1/notifications"),
        "incident_id": ids("/api/v1/incidents"),
        "link_id": links,
        # Not the token's own user: deactivating it would end the run's access.
        "user_id": [i for i in ids("/api/v1/users") if i != own_id],
        "job_id": [session.post(f"{base}/api/v1/health/sweep", timeout=10).json()["job_id"]],
    }


def _strategy(operation: Any, mode: GenerationMode, known: dict[str, list[Any]]) -> Any:
    generated = operation.as_strategy(generation_mode=mode)
    names = [p.name for p in operation.path_parameters]
    existing = {name: known[name] for name in names if known.get(name)}
    if not existing:
        return generated

    @st.composite
    def on_existing_rows(draw: Any) -> Case:
        case: Case = draw(generated)
        for name, ids in existing.items():
            case.path_parameters = {
                **(case.path_parameters or {}),
                name: draw(st.sampled_from(ids)),
            }
        return case

    return st.one_of(generated, on_existing_rows())


@dataclass
class Target:
    """Where the examples go, and what is known to exist there."""

    base: str
    session: requests.Session
    known: dict[str, list[Any]]


def _exercise(operation: Any, mode: GenerationMode, target: Target, figures: Figures) -> None:
    """``EXAMPLES_PER_MODE`` examples of ``operation`` in ``mode``, each failure recorded."""
    label = operation.label

    @settings(
        max_examples=EXAMPLES_PER_MODE,
        deadline=None,
        database=None,
        derandomize=True,
        # No shrinking: a failure is recorded as found, and the run stays bounded.
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=_strategy(operation, mode, target.known))
    def run(case: Case) -> None:
        figures.examples += 1
        try:
            response = case.call_and_validate(
                base_url=target.base, session=target.session, checks=CHECKS, timeout=10
            )
        except (Exception, FailureGroup) as failure:
            figures.failed(label, f"{mode.value}: {type(failure).__name__}: {failure}"[:1500])
            return
        key = f"{label} {response.status_code}"
        figures.statuses[key] = figures.statuses.get(key, 0) + 1

    run()


def test_every_operation_keeps_to_its_schema(
    app_url: str,
    admin_token: str,
    admin: httpx.Client,
    sandbox: SandboxServer,
    database_url: str,
    demo: Demo,
) -> None:
    # A login revoked at the provider and found by a sweep: an incident, its notifications.
    sandbox.add_fault("revoke_grant", grant=REVOKED_LOGIN)
    sweep_now(admin)
    started = time.monotonic()
    schema = schemathesis.openapi.from_url(f"{app_url}/openapi.json")
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {admin_token}"
    target = Target(app_url, session, _known_ids(app_url, session, own_id=demo.admin.id))
    figures = Figures()

    for result in schema.get_all_operations():
        operation = result.ok()
        figures.operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _exercise(operation, mode, target, figures)

    report = figures.as_json(time.monotonic() - started)
    ARTIFACTS.mkdir(exist_ok=True)
    kind = database_url.split(":")[0].split("+")[0]
    (ARTIFACTS / f"schemathesis-{kind}.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k != "statuses"}, indent=2))
    # The walk covered the API (a run that tested nothing would prove nothing).
    assert figures.operations >= 19 and figures.examples >= figures.operations * EXAMPLES_PER_MODE
    assert figures.failures == {}
