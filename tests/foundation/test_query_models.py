"""A model of query parameters validated in one call (kit/query_models.py) answers as FastAPI's
own reading of ``Annotated[Model, Query()]`` does: the same values, the same 422s, the same
OpenAPI parameters."""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import urlencode

import httpx
from fastapi import Depends, FastAPI, Query
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field

from relink.data_sources.schemas import ListQuery
from relink.kit.query_models import query_model, query_parameters


class Tagged(BaseModel):
    """A model with what ListQuery lacks: a parameter held several times, an alias, a
    required one."""

    tag: list[str] = []
    page_from: Annotated[int, Field(alias="from", ge=0)]
    flag: bool = False


MODELS: tuple[type[BaseModel], ...] = (ListQuery, Tagged)


def _twin_app() -> FastAPI:
    """For each model, FastAPI's own reading at /fastapi/<name> and ours at /ours/<name>."""
    app = FastAPI()
    for model in MODELS:
        name = model.__name__

        async def theirs(query: Any) -> Any:
            return query.model_dump(mode="json")

        theirs.__annotations__ = {"query": Annotated[model, Query()]}
        app.get(f"/fastapi/{name}")(theirs)

        async def ours(query: Any) -> Any:
            return query.model_dump(mode="json")

        ours.__annotations__ = {"query": Annotated[model, Depends(query_model(model))]}
        app.get(f"/ours/{name}", openapi_extra={"parameters": query_parameters(model)})(ours)
    return app


TWINS = _twin_app()

# Values that are valid for some parameter and not for others, and some that are for none.
VALUES = st.one_of(
    st.sampled_from(
        [
            "",
            "0",
            "1",
            "-1",
            "50",
            "501",
            "9" * 20,
            "failing",
            "removed",
            "client",
            "status",
            "api_key",
            "oauth",
            "true",
            "no",
            "x" * 201,
            "é",
            " 7 ",
            "1.5",
        ]
    ),
    st.text(max_size=12),
)
NAMES = st.sampled_from(
    [
        "status",
        "provider",
        "client_id",
        "auth_kind",
        "q",
        "sort",
        "limit",
        "cursor",
        "tag",
        "from",
        "page_from",
        "flag",
        "other",
    ]
)


async def _both(model: type[BaseModel], pairs: list[tuple[str, str]]) -> tuple[Any, Any]:
    query = urlencode(pairs)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=TWINS), base_url="http://twins"
    ) as client:
        theirs = await client.get(f"/fastapi/{model.__name__}?{query}")
        ours = await client.get(f"/ours/{model.__name__}?{query}")
    return (theirs.status_code, theirs.json()), (ours.status_code, ours.json())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    model=st.sampled_from(MODELS),
    pairs=st.lists(st.tuples(NAMES, VALUES), max_size=6),
)
async def test_any_query_string_gets_fastapis_own_answer(
    model: type[BaseModel], pairs: list[tuple[str, str]]
) -> None:
    theirs, ours = await _both(model, pairs)
    assert ours == theirs


async def test_a_parameter_given_twice_is_its_last_value_unless_it_holds_several() -> None:
    theirs, ours = await _both(Tagged, [("tag", "a"), ("from", "1"), ("tag", "b"), ("from", "2")])
    assert ours == theirs == (200, {"tag": ["a", "b"], "page_from": 2, "flag": False})


async def test_a_refused_value_is_a_422_naming_the_parameter() -> None:
    theirs, ours = await _both(ListQuery, [("limit", "0"), ("status", "gone")])
    assert ours == theirs
    status, body = ours
    assert status == 422
    assert {tuple(error["loc"]) for error in body["detail"]} == {
        ("query", "limit"),
        ("query", "status"),
    }


def test_the_documented_parameters_are_fastapis_with_every_reference_written_out() -> None:
    document = TWINS.openapi()
    components = document["components"]["schemas"]
    for model in MODELS:
        theirs = document["paths"][f"/fastapi/{model.__name__}"]["get"]["parameters"]
        ours = document["paths"][f"/ours/{model.__name__}"]["get"]["parameters"]
        assert "$ref" not in json.dumps(ours)
        assert ours == _written_out(theirs, components)


def _written_out(schema: Any, components: dict[str, Any]) -> Any:
    """FastAPI's parameters with each component reference replaced by the component."""
    if isinstance(schema, list):
        return [_written_out(item, components) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        rest = {k: v for k, v in schema.items() if k != "$ref"}
        return {**_written_out(components[name], components), **rest}
    return {key: _written_out(value, components) for key, value in schema.items()}
