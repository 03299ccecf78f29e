"""RFC 9457 problem details: the one error shape of ``/api/v1``, and its OpenAPI declaration.

Every operation declares the statuses it can answer with ``problem_responses(...)``, so the
schema names each one (schemathesis checks that no answer is undocumented).
"""

from __future__ import annotations

import http
from typing import Any

from pydantic import BaseModel, Field

PROBLEM_MEDIA_TYPE = "application/problem+json"
# Where the document keeps the two schemas every problem answer refers to.
_COMPONENTS = "#/components/schemas/"


class FieldProblem(BaseModel):
    """One field that failed validation: where it is and what to fix."""

    field: str = Field(description="The field's name, dotted for nested fields")
    message: str = Field(description="What is wrong with it and what to send instead")


class Problem(BaseModel):
    """An error answer (RFC 9457), with Relink's stable ``code`` for the error's class."""

    type: str = Field(default="about:blank", description="A URI naming the problem type")
    title: str = Field(description="A short summary of the problem type")
    status: int = Field(description="The HTTP status code")
    detail: str = Field(description="What happened, and what to do about it")
    code: str = Field(description="Stable, machine-readable name of the error's class")
    instance: str | None = Field(default=None, description="The request path that failed")
    errors: list[FieldProblem] | None = Field(
        default=None, description="Each invalid field, for validation errors (422)"
    )


_DESCRIPTIONS = {
    400: "The request is malformed",
    401: "No valid session or API token",
    403: "The caller may not do this",
    404: "Absent, or outside what the caller may see",
    409: "The resource's state does not allow this",
    410: "It existed, and is gone for good",
    422: "A parameter or the body is invalid",
    429: "Too many requests: wait for Retry-After seconds",
    503: "A dependency is not answering: retry after Retry-After seconds",
}
# Statuses whose answer tells the caller how long to wait.
_RETRY_AFTER = frozenset({429, 503})
_RETRY_AFTER_HEADER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again",
        "schema": {"type": "integer", "minimum": 0},
    }
}


def problem_title(status: int) -> str:
    """The problem's ``title``: the status's own phrase, as RFC 9457 asks of about:blank."""
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of an operation that may answer these statuses as problems."""
    responses: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        response: dict[str, Any] = {
            "description": _DESCRIPTIONS.get(status, problem_title(status)),
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": _COMPONENTS + "Problem"}}},
        }
        if status in _RETRY_AFTER:
            response["headers"] = _RETRY_AFTER_HEADER
        responses[status] = response
    return responses


def problem_components() -> dict[str, dict[str, Any]]:
    """The document's ``components.schemas`` entries the problem answers refer to."""
    schema = Problem.model_json_schema(ref_template=_COMPONENTS + "{model}")
    definitions: dict[str, dict[str, Any]] = schema.pop("$defs", {})
    return {**definitions, "Problem": schema}
