"""What every problem answer of /api/v1 must be, checked on a real answer."""

from __future__ import annotations

from typing import Any

import httpx

from relink.kit.problems import PROBLEM_MEDIA_TYPE, Problem


def problem_of(answer: httpx.Response, *, status: int, code: str) -> dict[str, Any]:
    """The answer's problem, after checking it is one: the media type, the shape (RFC 9457's
    members and Relink's code), the status in the body matching the answer's."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == PROBLEM_MEDIA_TYPE
    body: dict[str, Any] = answer.json()
    Problem.model_validate(body)
    assert body["status"] == status
    assert body["code"] == code, body
    assert body["type"] == "about:blank"
    assert body["instance"] == answer.request.url.path
    assert body["detail"][:1].isupper() and body["detail"].endswith(".")
    return body
