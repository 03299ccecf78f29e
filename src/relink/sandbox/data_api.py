"""The sandbox's data API: who am I, which accounts, daily metrics, API-key check."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from starlette.responses import Response

from relink.sandbox.api_auth import Caller, RequireCaller
from relink.sandbox.deps import Sandbox
from relink.sandbox.errors import (
    account_not_found,
    invalid_argument,
    permission_denied,
)
from relink.sandbox.faults import FaultKind
from relink.sandbox.metrics_data import MAX_RANGE_DAYS, malformed_rows, metric_rows
from relink.sandbox.seed import Account
from relink.sandbox.state import SandboxState
from relink.sandbox.world import find_account, reachable_accounts, reached_through_manager

router = APIRouter(prefix="/api")

READ_SCOPE = "ads.read"
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# What a broken upstream proxy sends with a JSON content type.
NON_JSON_BODY = "<html><body><h1>502 Bad Gateway</h1></body></html>"

TOKEN_ONLY = frozenset({"token"})
TOKEN_OR_KEY = frozenset({"token", "api_key"})
KEY_ONLY = frozenset({"api_key"})
OAuthCaller = Annotated[Caller, Depends(RequireCaller("me", TOKEN_ONLY))]
AccountsCaller = Annotated[Caller, Depends(RequireCaller("accounts", TOKEN_OR_KEY))]
MetricsCaller = Annotated[Caller, Depends(RequireCaller("metrics", TOKEN_OR_KEY))]
KeyCaller = Annotated[Caller, Depends(RequireCaller("key_verify", KEY_ONLY))]


@router.get("/me")
async def me(caller: OAuthCaller) -> dict[str, str]:
    assert caller.identity is not None
    identity = caller.identity
    return {"id": identity.subject, "email": identity.email, "name": identity.name}


@router.get("/accounts")
async def accounts(caller: AccountsCaller, state: Sandbox) -> dict[str, list[dict[str, Any]]]:
    if caller.kind == "api_key":
        assert caller.key_account is not None
        _check_permission(state, caller, caller.key_account)
        account = find_account(state.world, caller.key_account)
        return {"accounts": [_account_json(account)] if account else []}
    assert caller.identity is not None and caller.token is not None
    _check_permission(state, caller, None)
    reachable = reachable_accounts(state.world, caller.identity)
    visible = [a for a in reachable if not _unlinked(state, caller, a.id)]
    return {"accounts": [_account_json(a) for a in visible]}


@router.get("/accounts/{account_id}/metrics", response_model=None)
async def metrics(
    account_id: str,
    caller: MetricsCaller,
    state: Sandbox,
    start: str | None = None,
    end: str | None = None,
) -> Response | dict[str, Any]:
    first, last = _date_range(start, end)
    _check_account_access(state, caller, account_id)
    malformed = state.faults.find(
        FaultKind.MALFORMED_DATA, now=state.now(), subject=caller.subject, account=account_id
    )
    if malformed is not None:
        state.stats.faults_triggered[FaultKind.MALFORMED_DATA] += 1
        if malformed.mode == "non_json":
            return Response(NON_JSON_BODY, media_type="application/json")
        return {"account_id": account_id, "rows": malformed_rows(account_id, first, last)}
    return {"account_id": account_id, "rows": metric_rows(account_id, first, last)}


@router.get("/key/verify")
async def verify_key(caller: KeyCaller, state: Sandbox) -> dict[str, str]:
    assert caller.key_account is not None
    _check_permission(state, caller, caller.key_account)
    account = find_account(state.world, caller.key_account)
    assert account is not None
    return {"account_id": account.id, "name": account.name}


def _account_json(account: Account) -> dict[str, Any]:
    return {
        "id": account.id,
        "name": account.name,
        "manager_id": account.manager_id,
        "time_zone": account.time_zone,
    }


def _date_range(start: str | None, end: str | None) -> tuple[date, date]:
    if not start or not end:
        raise invalid_argument("Both 'start' and 'end' are required (YYYY-MM-DD).")
    try:
        if not (ISO_DATE.match(start) and ISO_DATE.match(end)):
            raise ValueError
        first, last = date.fromisoformat(start), date.fromisoformat(end)
    except ValueError:
        raise invalid_argument("'start' and 'end' must be dates as YYYY-MM-DD.") from None
    if last < first:
        raise invalid_argument("'end' is before 'start'.")
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        raise invalid_argument(f"A range may span at most {MAX_RANGE_DAYS} days.")
    return first, last


def _check_account_access(state: SandboxState, caller: Caller, account_id: str) -> None:
    if find_account(state.world, account_id) is None:
        raise account_not_found(account_id)
    if caller.kind == "api_key":
        if caller.key_account != account_id:
            raise permission_denied(f"This API key has no access to account {account_id}.")
    else:
        assert caller.identity is not None
        reachable = {a.id for a in reachable_accounts(state.world, caller.identity)}
        if account_id not in reachable:
            raise permission_denied(f"The signed-in user has no access to account {account_id}.")
        if _unlinked(state, caller, account_id):
            raise account_not_found(account_id)
    _check_permission(state, caller, account_id)


def _check_permission(state: SandboxState, caller: Caller, account_id: str | None) -> None:
    """Scope and remove_permission faults; an account target only bites calls about it."""
    if caller.token is not None and READ_SCOPE not in caller.token.scope.split():
        raise permission_denied(f"The grant lacks the '{READ_SCOPE}' scope.")
    fault = state.faults.find(
        FaultKind.REMOVE_PERMISSION, now=state.now(), subject=caller.subject, account=account_id
    )
    if fault is not None:
        state.stats.faults_triggered[FaultKind.REMOVE_PERMISSION] += 1
        where = f" on account {account_id}" if account_id else ""
        raise permission_denied(f"The user no longer has permission to read data{where}.")


def _unlinked(state: SandboxState, caller: Caller, account_id: str) -> bool:
    """Unlinking cuts a sub-account from its manager: only logins reaching it that way lose it."""
    identity = caller.identity
    if identity is None or not reached_through_manager(state.world, identity, account_id):
        return False
    fault = state.faults.find(
        FaultKind.UNLINK_ACCOUNT, now=state.now(), subject=caller.subject, account=account_id
    )
    if fault is not None:
        state.stats.faults_triggered[FaultKind.UNLINK_ACCOUNT] += 1
    return fault is not None
