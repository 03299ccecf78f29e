"""Reading from a provider's API: reachable accounts, daily metrics, and API-key checks."""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import structlog

from relink.providers.answers import data_error, failure, json_body, no_answer
from relink.providers.api_auth import ApiAuth, key_auth
from relink.providers.http import Answer, HttpClient, NoAnswer
from relink.providers.json_path import first, resolve
from relink.providers.results import ExternalAccount, ExternalIdentity
from relink.providers.spec import ProviderSpec
from relink.providers.spec_fields import fill_url

log = structlog.get_logger(__name__)

# Guards against a provider that paginates forever.
MAX_ACCOUNT_PAGES = 100


async def list_accounts(
    http: HttpClient, spec: ProviderSpec, *, auth: ApiAuth
) -> list[ExternalAccount]:
    """Every external account the grant reaches (a manager's sub-accounts included)."""
    accounts_spec = spec.accounts
    if accounts_spec is None:
        raise ValueError(f"{spec.key} has no way to list accounts in its catalog entry")
    accounts: list[ExternalAccount] = []
    url = fill_url(accounts_spec.url, dict(auth.url_params))
    page_token: str | None = None
    for _ in range(MAX_ACCOUNT_PAGES):
        page_url = url
        if page_token and accounts_spec.page_token_param:
            separator = "&" if "?" in url else "?"
            page_url = f"{url}{separator}{accounts_spec.page_token_param}={page_token}"
        answer = await _call(
            http, spec, auth, accounts_spec.method, page_url, "accounts", json=accounts_spec.body
        )
        document = json_body(spec, answer, "accounts")
        items = resolve(document, accounts_spec.items) if accounts_spec.items else [document]
        for item in items:
            account_id = first(item, accounts_spec.id)
            if account_id is None:
                continue
            identifier = str(account_id).removeprefix(accounts_spec.id_prefix)
            name = first(item, accounts_spec.name) if accounts_spec.name else None
            manager = first(item, accounts_spec.manager_id) if accounts_spec.manager_id else None
            zone = first(item, accounts_spec.time_zone) if accounts_spec.time_zone else None
            accounts.append(
                ExternalAccount(
                    id=identifier,
                    name=str(name) if name is not None else identifier,
                    manager_id=str(manager) if manager is not None else None,
                    time_zone=_time_zone(zone),
                )
            )
        next_token = (
            first(document, accounts_spec.next_page_token)
            if accounts_spec.next_page_token
            else None
        )
        if not next_token:
            break
        page_token = str(next_token)
    return accounts


async def fetch_daily_metrics(
    http: HttpClient,
    spec: ProviderSpec,
    *,
    auth: ApiAuth,
    account_id: str,
    start: date,
    end: date,
) -> dict[date, dict[str, float]]:
    """One row per day from ``start`` to ``end``; a malformed answer is a data_error."""
    metrics = spec.metrics
    if metrics is None:
        raise ValueError(f"{spec.key} has no metrics endpoint in its catalog entry")
    values = {
        **auth.url_params,
        "account_id": account_id,
        "start": start.isoformat(),
        "end": end.isoformat(),
    }
    answer = await _call(http, spec, auth, metrics.method, fill_url(metrics.url, values), "metrics")
    document = json_body(spec, answer, "metrics")
    days: dict[date, dict[str, float]] = {}
    for row in resolve(document, metrics.rows):
        day = _day(first(row, metrics.date))
        if day is None or not start <= day <= end:
            raise data_error(spec, "metrics", "a row has a missing or out-of-range date")
        parsed: dict[str, float] = {}
        for name, path in metrics.values.items():
            value = first(row, path)
            if isinstance(value, bool) or not isinstance(value, int | float | str):
                raise data_error(spec, "metrics", f"{day}: {name} is missing or not a number")
            try:
                parsed[name] = float(value)
            except ValueError:
                raise data_error(spec, "metrics", f"{day}: {name} is not a number") from None
        if day in days:
            raise data_error(spec, "metrics", f"{day} appears twice")
        days[day] = parsed
    return days


async def verify_api_key(http: HttpClient, spec: ProviderSpec, *, key: str) -> ExternalIdentity:
    """Test a key live; the identity is the account it opens, when the provider says."""
    if spec.api_key is None:
        raise ValueError(f"{spec.key} does not use API keys")
    auth = key_auth(spec, key)
    url = fill_url(spec.api_key.verify_url, dict(auth.url_params))
    answer = await _call(http, spec, auth, spec.api_key.verify_method, url, "verify")
    document = json_body(spec, answer, "verify")
    fields = spec.api_key.identity
    if fields is None:
        return ExternalIdentity(id="")
    found = first(document, fields.id)
    name = first(document, fields.name) if fields.name else None
    return ExternalIdentity(
        id=str(found) if found is not None else "", name=str(name) if name is not None else None
    )


async def _call(
    http: HttpClient,
    spec: ProviderSpec,
    auth: ApiAuth,
    method: str,
    url: str,
    operation: str,
    *,
    json: Any = None,
) -> Answer:
    try:
        answer = await http.request(method, auth.apply(url), headers=auth.headers, json=json)
    except NoAnswer:
        raise no_answer(spec, operation) from None
    if not answer.ok:
        raise failure(spec, answer, phase="api", operation=operation)
    return answer


def _time_zone(value: Any) -> str | None:
    """An IANA time zone name this machine knows, else None (the account's days read as UTC):
    a misspelt or retired name must not make every day of the account unreadable."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        ZoneInfo(value.strip())
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("provider.accounts.unknown_time_zone", time_zone=value[:64])
        return None
    return value.strip()


def _day(value: Any) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None
