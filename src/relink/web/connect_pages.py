"""Connect a new data source: pick a provider, sign in or give a key, link accounts to clients."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from relink.auth.access import scope_of
from relink.data_sources import connect
from relink.data_sources.credentials import KeyNotVerified, KeyRefused
from relink.data_sources.imports import INITIAL_HISTORY_DAYS
from relink.dependencies import (
    DbSession,
    Jobs,
    Now,
    PageScope,
    PageUser,
    SessionNonce,
    StaffPageUser,
)
from relink.errors import InvalidInput, NotFound
from relink.kit.row_ids import RowId
from relink.models import Grant, User
from relink.providers.results import ExternalAccount
from relink.web.pickers import client_picker
from relink.web.templating import templates
from relink.worker.context import JobContext

router = APIRouter(prefix="/connect", include_in_schema=False)

# A form field per account: "link:<external account id>" = the client id, or "" for don't link.
LINK_FIELD = "link:"


def _render(
    request: Request, name: str, user: User, status_code: int = 200, **context: Any
) -> Response:
    return templates.TemplateResponse(
        request, f"connect/{name}", {"user": user, **context}, status_code=status_code
    )


def _done() -> RedirectResponse:
    # The Data Sources page shows its fixed banner for "connected" (no text from the URL).
    return RedirectResponse("/data-sources?done=connected", status_code=303)


@router.get("", response_class=HTMLResponse)
async def choose_provider(request: Request, user: StaffPageUser, jobs: Jobs) -> Response:
    choices = connect.provider_choices(jobs)
    sandbox = [c for c in choices if c.key in connect.SANDBOX_PROVIDERS]
    others = [c for c in choices if c.key not in connect.SANDBOX_PROVIDERS]
    return _render(request, "choose_provider.html", user, sandbox=sandbox, others=others)


@router.post("/{provider}/oauth")
async def start_oauth(
    provider: str, session: DbSession, user: PageUser, jobs: Jobs, nonce: SessionNonce, now: Now
) -> Response:
    url = await connect.start_oauth(
        session, ctx=jobs, user=user, provider=provider, nonce=nonce, now=now
    )
    return RedirectResponse(url, status_code=303)


@router.get("/grants/{grant_id}/accounts", response_class=HTMLResponse)
async def choose_accounts(
    grant_id: RowId, request: Request, session: DbSession, user: PageUser, jobs: Jobs
) -> Response:
    """After the consent: every account the login reaches, each with a client picker."""
    grant = await connect.connectable_grant(session, user=user, grant_id=grant_id)
    accounts = await connect.reachable_accounts(jobs, grant_id=grant.id)
    return await _accounts_page(request, session, user, jobs, grant=grant, accounts=accounts)


async def _accounts_page(
    request: Request,
    session: AsyncSession,
    user: User,
    jobs: JobContext,
    *,
    grant: Grant,
    accounts: list[ExternalAccount],
    status_code: int = 200,
    error: str | None = None,
    chosen: dict[str, int] | None = None,
) -> Response:
    choices = await connect.account_choices(
        session, user=user, provider=grant.provider, accounts=accounts
    )
    return _render(
        request,
        "choose_accounts.html",
        user,
        status_code,
        grant=grant,
        choices=choices,
        provider_name=jobs.catalog.get(grant.provider).display_name,
        error=error,
        chosen=chosen or {},
        clients=await client_picker(session, scope_of(user)),
        field=LINK_FIELD,
        history_days=INITIAL_HISTORY_DAYS,
    )


@router.post("/grants/{grant_id}/accounts", response_class=HTMLResponse)
async def link_accounts(
    grant_id: RowId, request: Request, session: DbSession, user: PageUser, jobs: Jobs, now: Now
) -> Response:
    grant = await connect.connectable_grant(session, user=user, grant_id=grant_id)
    form = await request.form()
    chosen: dict[str, int] = {}
    for key, value in form.multi_items():
        if key.startswith(LINK_FIELD) and isinstance(value, str) and value.strip().isdigit():
            chosen[key.removeprefix(LINK_FIELD)] = int(value)
    accounts = await connect.reachable_accounts(jobs, grant_id=grant.id)
    try:
        await connect.link_accounts(
            session, user=user, grant=grant, accounts=accounts, assignments=chosen, now=now
        )
    except (InvalidInput, NotFound) as error:
        return await _accounts_page(
            request,
            session,
            user,
            jobs,
            status_code=422,
            grant=grant,
            accounts=accounts,
            error=error.message,
            chosen=chosen,
        )
    return _done()


@router.get("/{provider}/key", response_class=HTMLResponse)
async def key_form(
    provider: str,
    request: Request,
    session: DbSession,
    user: StaffPageUser,
    scope: PageScope,
    jobs: Jobs,
) -> Response:
    spec = connect.api_key_spec(jobs, provider)
    clients = await client_picker(session, scope)
    return _render(
        request, "api_key.html", user, spec=spec, clients=clients, error=None, client_id=None
    )


@router.post("/{provider}/key", response_class=HTMLResponse)
async def connect_key(
    provider: str,
    request: Request,
    session: DbSession,
    user: PageUser,
    scope: PageScope,
    jobs: Jobs,
    now: Now,
    api_key: Annotated[str, Form()] = "",
    client_id: Annotated[str, Form()] = "",
) -> Response:
    spec = connect.api_key_spec(jobs, provider)
    try:
        if not client_id.isdigit():
            raise InvalidInput("choose the client this account's data is for")
        # Every check (format, live test, client) runs before anything is written.
        await connect.connect_api_key(
            session,
            ctx=jobs,
            user=user,
            provider=spec.key,
            client_id=int(client_id),
            raw_key=api_key,
            now=now,
        )
    except (KeyRefused, KeyNotVerified, InvalidInput, NotFound) as error:
        return _render(
            request,
            "api_key.html",
            user,
            error.status_code,
            spec=spec,
            clients=await client_picker(session, scope),
            error=error.message,
            reason=getattr(error, "reason", None),
            refused=error if isinstance(error, KeyRefused) else None,
            client_id=int(client_id) if client_id.isdigit() else None,
        )
    return _done()
