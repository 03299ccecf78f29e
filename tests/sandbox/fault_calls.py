"""Who the sandbox's fault tests act as, and the calls they make."""

from __future__ import annotations

import httpx

from relink.sandbox.seed import (
    IDENTITIES,
    MANAGER_SUB_ACCOUNTS,
)
from tests.fixtures.sandbox import SandboxServer

MANAGER = "manager@sandbox.test"
HARBOR = "harbor@sandbox.test"
SUB_1, SUB_2 = MANAGER_SUB_ACCOUNTS[0].id, MANAGER_SUB_ACCOUNTS[1].id
DAY = {"start": "2024-02-01", "end": "2024-02-02"}
EXPIRED_OR_REVOKED = "Token has been expired or revoked."
MANAGER_DEMO_RT = IDENTITIES[0].demo_refresh_token or ""
HARBOR_DEMO_RT = IDENTITIES[1].demo_refresh_token or ""


def metrics_of(sandbox: SandboxServer, credential: str, account_id: str) -> httpx.Response:
    return sandbox.api_get(f"/api/accounts/{account_id}/metrics", credential, **DAY)


def api_code(answer: httpx.Response) -> str:
    code: str = answer.json()["error"]["code"]
    return code
