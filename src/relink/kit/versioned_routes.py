"""Routes served twice: under ``/api/v1``, documented, and under ``/api`` for the pages' own
scripts, hidden from the schema (nothing documented twice, nothing the pages call moved).

Each handler is registered on two plain routers with their full prefixes, so every route's
``path`` is the one it answers on, whoever walks the app's routes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from fastapi import APIRouter
from fastapi.params import Depends

F = TypeVar("F", bound=Callable[..., Any])

V1_PREFIX = "/api/v1"
LEGACY_PREFIX = "/api"


class VersionedRouter:
    """``v1`` and ``legacy``: the same operations under ``/api/v1{path}`` and ``/api{path}``.

    ``get``/``post`` register a handler on both; a route of one side only is added to that
    router directly.
    """

    def __init__(
        self, path: str = "", *, tags: Sequence[str] = (), dependencies: Sequence[Depends] = ()
    ) -> None:
        self.v1 = APIRouter(prefix=V1_PREFIX + path, tags=list(tags), dependencies=dependencies)
        self.legacy = APIRouter(
            prefix=LEGACY_PREFIX + path, include_in_schema=False, dependencies=dependencies
        )

    def api_route(self, path: str, *, methods: list[str], **options: Any) -> Callable[[F], F]:
        """Register the handler under both prefixes, with the same options."""

        def register(handler: F) -> F:
            self.v1.api_route(path, methods=methods, **options)(handler)
            self.legacy.api_route(path, methods=methods, **options)(handler)
            return handler

        return register

    def get(self, path: str, **options: Any) -> Callable[[F], F]:
        return self.api_route(path, methods=["GET"], **options)

    def post(self, path: str, **options: Any) -> Callable[[F], F]:
        return self.api_route(path, methods=["POST"], **options)
