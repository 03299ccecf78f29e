"""Input from outside is bounded at the edge: an id no row can have is a 422, never a 500."""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from annotated_types import Le, Lt, MaxLen
from fastapi.routing import APIRoute
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from relink.app import create_app
from relink.kit.row_ids import MAX_ROW_ID

TOO_BIG = str(2**64)


def _routes() -> Iterator[APIRoute]:
    app = create_app()
    for route in app.routes:
        included = getattr(route, "original_router", None)
        for inner in included.routes if included is not None else [route]:
            if isinstance(inner, APIRoute):
                yield inner


def _bounded_above(info: FieldInfo | None, metadata: list[Any]) -> bool:
    marks = [*metadata, *(info.metadata if info is not None else [])]
    limits = [m.le if isinstance(m, Le) else m.lt for m in marks if isinstance(m, Le | Lt)]
    return any(limit <= MAX_ROW_ID for limit in limits)


def _unbounded_ints(name: str, annotation: Any, info: FieldInfo | None) -> Iterator[str]:
    """Every int reachable from ``annotation`` (lists, optionals, models) with no upper bound."""
    metadata: list[Any] = []
    if typing.get_origin(annotation) is typing.Annotated:
        annotation, *metadata = typing.get_args(annotation)
        metadata = [m for m in metadata if not isinstance(m, str)]
        inner = [m for m in metadata if isinstance(m, FieldInfo)]
        metadata = [*metadata, *(x for m in inner for x in m.metadata)]
    origin = typing.get_origin(annotation)
    if annotation is int:
        if not _bounded_above(info, metadata):
            yield name
    elif origin in (typing.Union, types.UnionType, list, set, tuple):
        for arg in typing.get_args(annotation):
            yield from _unbounded_ints(name, arg, info if origin is not list else None)
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        for field_name, field in annotation.model_fields.items():
            yield from _unbounded_ints(f"{name}.{field_name}", field.rebuild_annotation(), field)


def test_every_integer_a_request_can_carry_has_an_upper_bound() -> None:
    unbounded: list[str] = []
    for route in _routes():
        params = [*route.dependant.path_params, *route.dependant.query_params]
        params += route.dependant.body_params
        for sub in route.dependant.dependencies:
            params += [*sub.path_params, *sub.query_params]
        for param in params:
            for name in _unbounded_ints(param.name, param.field_info.annotation, param.field_info):
                unbounded.append(f"{sorted(route.methods)} {route.path}: {name}")

    assert unbounded == []


def test_every_password_a_request_can_carry_has_a_length_limit() -> None:
    unlimited = []
    for route in _routes():
        for param in route.dependant.body_params:
            fields = {param.name: param.field_info}
            model = param.field_info.annotation
            if isinstance(model, type) and issubclass(model, BaseModel):
                fields = dict(model.model_fields)
            for name, info in fields.items():
                limited = any(isinstance(m, MaxLen) for m in info.metadata)
                if "password" in name and not limited:
                    unlimited.append(f"{route.path}: {name}")

    assert unlimited == []


@pytest.mark.parametrize(
    "path",
    [
        f"/api/grants/{TOO_BIG}",
        f"/api/data-sources/{TOO_BIG}",
        f"/api/data-sources?client_id={TOO_BIG}",
        f"/api/notifications/{TOO_BIG}/read",
    ],
)
def test_an_id_no_row_can_have_is_refused_by_the_api_with_the_field_named(
    admin: httpx.Client, path: str
) -> None:
    answer = admin.post(path) if path.endswith("/read") else admin.get(path)

    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/json")
    assert "2^63" in answer.text or str(MAX_ROW_ID) in answer.text


@pytest.mark.parametrize(
    "path",
    [
        f"/clients/{TOO_BIG}",
        f"/data-sources/{TOO_BIG}",
        f"/notifications/{TOO_BIG}",
        f"/settings/outbox?before={TOO_BIG}",
        f"/grants/{TOO_BIG}/reconnect",
    ],
)
def test_an_id_no_row_can_have_gets_the_styled_page_not_a_server_error(
    admin: httpx.Client, path: str
) -> None:
    answer = admin.get(path)

    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("text/html")
    assert "Internal Server Error" not in answer.text


def test_a_reconnect_link_of_absurd_length_is_refused_with_the_limit(admin: httpx.Client) -> None:
    grant_id = admin.get("/api/data-sources").json()["items"][0]["grant_id"]

    answer = admin.post(f"/api/grants/{grant_id}/reconnect-links", json={"days": 10**30})

    assert answer.status_code == 422
    assert "30" in answer.text
