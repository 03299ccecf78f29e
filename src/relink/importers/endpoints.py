"""``/api/v1/data-sources/{id}/credentials|failures|imports``: what a reporting platform's own
importers call, with a service token (or a staff member's token or session)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header

from relink.api_tokens.errors import ServiceTokenNotHere
from relink.api_tokens.permissions import Permission
from relink.data_sources.import_mode import import_mode
from relink.dependencies import DbSession, Jobs, Now
from relink.events.service import record
from relink.importers.caller import Caller
from relink.importers.confirmations import confirm_imports
from relink.importers.credentials import hand_credentials
from relink.importers.failure_reports import Report, report_failure
from relink.importers.schemas import (
    AdviceOut,
    CredentialsOut,
    FailureIn,
    ImportModeIn,
    ImportModeOut,
    ImportsIn,
    ImportsOut,
    WantedOut,
    WantedPage,
)
from relink.importers.work_list import wanted_imports
from relink.kit.api_pages import DEFAULT_LIMIT, Cursor, Limit, id_after, page_of
from relink.kit.problems import problem_responses
from relink.kit.row_ids import RowId

router = APIRouter(prefix="/api/v1", tags=["importers"])

IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="The importer's own id of this report: the same key answers the same once",
    ),
]


@router.get(
    "/importer/data-sources",
    operation_id="list_importer_data_sources",
    responses=problem_responses(401, 403, 422, 503),
)
async def list_wanted(
    caller: Caller,
    session: DbSession,
    jobs: Jobs,
    now: Now,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> WantedPage:
    """The data sources your platform imports (imports: external), in id order, each with
    the days to import now (from its first missing day, a backfill's included)."""
    caller.require(Permission.READ)
    rows = await wanted_imports(
        session,
        caller=caller,
        catalog=jobs.catalog,
        now=now,
        after_id=id_after(cursor),
        limit=limit,
    )
    shown, next_cursor = page_of(rows, limit=limit, key=lambda w: [w.data_source_id])
    return WantedPage(items=[WantedOut.of(w) for w in shown], next_cursor=next_cursor)


@router.get(
    "/data-sources/{data_source_id}/credentials",
    operation_id="get_data_source_credentials",
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def get_credentials(data_source_id: RowId, caller: Caller, jobs: Jobs) -> CredentialsOut:
    """Fresh credentials to call the provider with (refreshed first when near their end). A
    disconnected data source answers 409 ``reconnect_needed`` with the page that repairs it."""
    caller.require(Permission.CREDENTIALS_READ)
    handed = await hand_credentials(jobs, caller=caller, data_source_id=data_source_id)
    return CredentialsOut.of(handed)


@router.post(
    "/data-sources/{data_source_id}/failures",
    operation_id="report_data_source_failure",
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def report(
    data_source_id: RowId,
    body: FailureIn,
    key: IdempotencyKey,
    caller: Caller,
    jobs: Jobs,
) -> AdviceOut:
    """What the provider answered one of your calls: Relink decides it as it decides its own
    imports' failures (refresh, disconnect and tell people, or wait) and says what to do."""
    caller.require(Permission.FAILURES_WRITE)
    advice = await report_failure(
        jobs,
        caller=caller,
        data_source_id=data_source_id,
        key=key,
        report=Report(
            status=body.status,
            headers=body.headers,
            body=body.body,
            method=body.call.method,
            url=body.call.url,
            token_generation=body.token_generation,
        ),
    )
    return AdviceOut.of(advice)


@router.post(
    "/data-sources/{data_source_id}/imports",
    operation_id="confirm_data_source_imports",
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def confirm(
    data_source_id: RowId, body: ImportsIn, caller: Caller, session: DbSession, jobs: Jobs
) -> ImportsOut:
    """The days your importer imported: the data source's complete days, its gap and an open
    backfill follow them. Only for a data source whose imports are external."""
    caller.require(Permission.IMPORTS_WRITE)
    confirmed = await confirm_imports(
        session,
        jobs,
        caller=caller,
        data_source_id=data_source_id,
        first=body.first,
        last=body.last,
    )
    return ImportsOut.of(confirmed)


@router.put(
    "/data-sources/{data_source_id}/import-mode",
    operation_id="set_data_source_import_mode",
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def set_import_mode(
    data_source_id: RowId, body: ImportModeIn, caller: Caller, session: DbSession, jobs: Jobs
) -> ImportModeOut:
    """Who imports the data source's days: Relink, your platform (external), or as its
    provider's catalog entry says (null). Staff and admins only, not service tokens."""
    if caller.user is None:
        raise ServiceTokenNotHere()
    source = await caller.data_source(session, data_source_id, lock=True)
    before = source.imports
    source.imports = body.imports
    if before != body.imports:
        await record(
            session,
            agency_id=source.agency_id,
            actor=caller.actor,
            subject_type="data_source",
            subject_id=source.id,
            action="data_source.import_mode_changed",
            details={
                "from": before.value if before else None,
                "to": body.imports.value if body.imports else None,
            },
        )
    return ImportModeOut(
        data_source_id=source.id,
        imports=import_mode(source, jobs.catalog),
        own_setting=source.imports,
    )
