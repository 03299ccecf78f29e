"""The sandbox's admin API: switch faults on and off, read counters, reset.

Unauthenticated on purpose: the sandbox is a local stand-in, bound to loopback by default.
"""

from __future__ import annotations

from typing import Any, Literal

import structlog
from fastapi import APIRouter
from pydantic import BaseModel, Field

from relink.sandbox.deps import Sandbox
from relink.sandbox.errors import ApiError, invalid_argument
from relink.sandbox.faults import (
    DEFAULT_DELAY_SECONDS,
    DEFAULT_RETRY_AFTER_SECONDS,
    DEFAULT_SERVER_ERROR_STATUS,
    GRANT_ONLY_KINDS,
    MALFORMED_MODES,
    SERVER_ERROR_STATUSES,
    Fault,
    FaultKind,
    new_fault_id,
)
from relink.sandbox.signal_push import push_revocations
from relink.sandbox.state import SandboxState
from relink.sandbox.world import api_key_account, find_account, find_identity

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/admin")


class FaultIn(BaseModel):
    kind: FaultKind
    # An identity's subject or e-mail address.
    grant: str | None = None
    account: str | None = None
    seconds: float | None = Field(default=None, gt=0)
    # Answer this many matching requests with the fault, then stop (e.g. one lost answer).
    times: int | None = Field(default=None, gt=0)
    retry_after: int = Field(default=DEFAULT_RETRY_AFTER_SECONDS, ge=0)
    delay: float = Field(default=DEFAULT_DELAY_SECONDS, ge=0)
    status: int = DEFAULT_SERVER_ERROR_STATUS
    mode: str = MALFORMED_MODES[0]
    # Only the OAuth endpoints ("oauth": token, revoke) or only the data API ("api").
    surface: Literal["oauth", "api"] | None = None


@router.post("/faults", status_code=201)
async def add_fault(body: FaultIn, state: Sandbox) -> dict[str, Any]:
    subject = _subject_of(state, body.grant)
    _check_target(state, body)
    if body.kind is FaultKind.ROTATE_API_KEY:
        return _rotate_api_keys(state, body)
    now = state.now()
    fault = Fault(
        id=new_fault_id(),
        kind=body.kind,
        created_at=now,
        subject=subject,
        account=body.account,
        expires_at=now + body.seconds if body.seconds else None,
        remaining=body.times,
        retry_after=body.retry_after,
        delay=body.delay,
        status=body.status,
        mode=body.mode,
        surface=body.surface,
    )
    state.faults.add(fault)
    state.save()
    log.info("sandbox.fault.added", kind=fault.kind, subject=subject, account=body.account)
    if fault.kind is FaultKind.REVOKE_GRANT:
        # A revocation is announced to the receivers registered with the sandbox, as RISC does.
        concerned = [i for i in state.world.identities if subject in (None, i.subject)]
        push_revocations(state, concerned)
    return {"fault": fault.to_dict()}


@router.get("/faults")
async def list_faults(state: Sandbox) -> dict[str, Any]:
    return {"faults": [f.to_dict() for f in state.faults.active(state.now())]}


@router.delete("/faults")
async def clear_faults(state: Sandbox) -> dict[str, int]:
    cleared = state.faults.clear()
    state.save()
    log.info("sandbox.fault.cleared", count=cleared)
    return {"cleared": cleared}


@router.delete("/faults/{fault_id}")
async def clear_fault(fault_id: str, state: Sandbox) -> dict[str, int]:
    cleared = state.faults.clear(fault_id)
    if not cleared:
        raise ApiError("FAULT_NOT_FOUND", f"No fault {fault_id} is switched on.", 404)
    state.save()
    log.info("sandbox.fault.cleared", fault_id=fault_id, count=cleared)
    return {"cleared": cleared}


@router.get("/stats")
async def stats(state: Sandbox) -> dict[str, Any]:
    live_families = [f for f in state.families.values() if not f.revoked]
    return {
        **state.stats.to_dict(),
        "families": len(state.families),
        "live_families": len(live_families),
        "active_faults": len(state.faults.active(state.now())),
    }


@router.post("/reset")
async def reset(state: Sandbox) -> dict[str, bool]:
    state.reset()
    log.info("sandbox.reset")
    return {"ok": True}


def _subject_of(state: SandboxState, grant: str | None) -> str | None:
    if grant is None:
        return None
    identity = find_identity(state.world, grant)
    if identity is None:
        raise invalid_argument(f"No identity with subject or e-mail {grant!r}.")
    return identity.subject


def _check_target(state: SandboxState, body: FaultIn) -> None:
    if body.account is not None and find_account(state.world, body.account) is None:
        raise invalid_argument(f"No account {body.account!r}.")
    if body.account is not None and body.kind in GRANT_ONLY_KINDS:
        raise invalid_argument(f"{body.kind} concerns a grant's tokens; target --grant instead.")
    if body.kind is FaultKind.ROTATE_API_KEY and body.grant is not None:
        raise invalid_argument("rotate_api_key targets API-key accounts; use --account.")
    if body.status not in SERVER_ERROR_STATUSES:
        raise invalid_argument(f"status must be one of {SERVER_ERROR_STATUSES}.")
    if body.mode not in MALFORMED_MODES:
        raise invalid_argument(f"mode must be one of {MALFORMED_MODES}.")


def _rotate_api_keys(state: SandboxState, body: FaultIn) -> dict[str, Any]:
    """A rotation is an event, not a switch: the old key stays dead until /admin/reset."""
    if body.account is not None:
        if api_key_account(state.world, body.account) is None:
            raise invalid_argument(f"{body.account} is not an API-key account.")
        account_ids = [body.account]
    else:
        account_ids = [entry.account.id for entry in state.world.api_keys]
    new_keys = {account_id: state.rotate_api_key(account_id) for account_id in account_ids}
    log.info("sandbox.api_key.rotated", accounts=account_ids)
    answer: dict[str, Any] = {"kind": FaultKind.ROTATE_API_KEY, "api_keys": new_keys}
    if len(new_keys) == 1:
        answer["api_key"] = next(iter(new_keys.values()))
    return answer
