"""The OpenAPI document at ``/openapi.json``: the ``/api/v1`` surface and nothing else.

The pages, the sign-in and the unversioned ``/api`` routes the pages' scripts call are served
but never documented: a script is pointed at one versioned surface, and no operation is
described twice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts

from relink.kit.problems import problem_components, problem_responses

V1_PREFIX = "/api/v1"
_HTTP_METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options", "trace"})
# The database can go away under any operation (web/database_away.py answers it): its 503 is
# declared on each one here, so no router can forget it; so is the 400 of a body that cannot
# be read at all (not UTF-8, say) on every operation that reads one.
_DATABASE_AWAY = {"503": problem_responses(503)[503]}
_UNREADABLE_BODY = {"400": problem_responses(400)[400]}
DESCRIPTION = (
    "Relink's public API. Errors are RFC 9457 problem details "
    "(`application/problem+json`) with a stable `code`; lists page with keyset cursors "
    "(pass `next_cursor` back as `cursor`). See docs/api.md."
)


def documented_routes(app: FastAPI) -> list[RouteContext]:
    """The app's routes of the versioned API that ask to be in the schema, as included (with
    their prefixes; FastAPI keeps an included router's routes inside it)."""
    return [
        context
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute)
        and context.include_in_schema
        and (path := context.path) is not None
        and (path == V1_PREFIX or path.startswith(V1_PREFIX + "/"))
    ]


def v1_openapi(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """``app.openapi``: the document of ``/api/v1``, built once, with the problem schemas."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=DESCRIPTION,
                routes=documented_routes(app),
                webhooks=app.webhooks.routes,
            )
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            schemas.update(problem_components())
            _declare_what_any_operation_meets(document)
            app.openapi_schema = document
        return app.openapi_schema

    return openapi


def _declare_what_any_operation_meets(document: dict[str, Any]) -> None:
    for item in document.get("paths", {}).values():
        for method, operation in item.items():
            if method in _HTTP_METHODS:
                responses = operation.setdefault("responses", {})
                for status, response in _DATABASE_AWAY.items():
                    responses.setdefault(status, response)
                if "requestBody" in operation:
                    for status, response in _UNREADABLE_BODY.items():
                        responses.setdefault(status, response)
