"""The calls of Relink's importer API, each one method; a refusal raises ``RelinkRefused``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from types import TracebackType
from typing import Any

import httpx

from relink_client.models import Advice, Confirmed, Credentials, Wanted

TIMEOUT_SECONDS = 30.0


class RelinkRefused(Exception):
    """Relink answered a problem (RFC 9457): ``code`` is stable, ``detail`` says what to do."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        self.status = status
        self.code = str(problem.get("code", "unknown"))
        self.detail = str(problem.get("detail", ""))
        self.retry_after = problem.get("retry_after")
        super().__init__(f"{status} {self.code}: {self.detail}")


class RelinkClient:
    """A service token's view of Relink: the work list, credentials, failures, confirmations."""

    def __init__(self, base_url: str, token: str, *, http: httpx.Client | None = None) -> None:
        self._http = http or httpx.Client(base_url=base_url, timeout=TIMEOUT_SECONDS)
        self._headers = {"Authorization": f"Bearer {token}"}

    def __enter__(self) -> RelinkClient:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def wanted(self, *, page_size: int = 200) -> Iterator[Wanted]:
        """Every data source the platform imports, with the days it wants now."""
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": page_size}
            if cursor:
                params["cursor"] = cursor
            page = self._call("GET", "/api/v1/importer/data-sources", params=params)
            yield from (Wanted.model_validate(item) for item in page["items"])
            cursor = page.get("next_cursor")
            if not cursor:
                return

    def credentials(self, data_source_id: int) -> Credentials:
        """Fresh credentials (a disconnected source raises with code ``reconnect_needed``)."""
        answer = self._call("GET", f"/api/v1/data-sources/{data_source_id}/credentials")
        return Credentials.model_validate(answer)

    def report_failure(
        self,
        data_source_id: int,
        answer: httpx.Response | None,
        *,
        key: str,
        token_generation: int | None,
        call: tuple[str, str] | None = None,
    ) -> Advice:
        """What the provider answered (``answer`` None: no answer came, say which ``call``)."""
        if answer is not None:
            method, url = answer.request.method, str(answer.request.url)
            body: dict[str, Any] = {
                "status": answer.status_code,
                "headers": dict(answer.headers),
                "body": answer.text[:65_536],
            }
        else:
            method, url = call or ("GET", "")
            body = {"status": None}
        body["call"] = {"method": method, "url": url}
        body["token_generation"] = token_generation
        advice = self._call(
            "POST",
            f"/api/v1/data-sources/{data_source_id}/failures",
            json=body,
            headers={"Idempotency-Key": key},
        )
        return Advice.model_validate(advice)

    def confirm(self, data_source_id: int, *, first: date | None, last: date) -> Confirmed:
        """The days imported: ``first`` to ``last`` (``first`` None: everything through)."""
        days: dict[str, str] = {"last": last.isoformat()}
        if first is not None:
            days["first"] = first.isoformat()
        answer = self._call("POST", f"/api/v1/data-sources/{data_source_id}/imports", json=days)
        return Confirmed.model_validate(answer)

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        answer = self._http.request(
            method, path, params=params, json=json, headers={**self._headers, **(headers or {})}
        )
        if answer.status_code >= 400:
            try:
                problem = answer.json()
            except ValueError:
                problem = {"code": "not_json", "detail": answer.text[:200]}
            if "Retry-After" in answer.headers:
                problem["retry_after"] = answer.headers["Retry-After"]
            raise RelinkRefused(answer.status_code, problem)
        return answer.json()
