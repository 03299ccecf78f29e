"""The error mapping of a catalog entry: rules that turn a provider's answer into a class.

``relink.providers.classify`` applies them; this module only says what a rule may hold.
"""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, model_validator

from relink.providers.spec_fields import JsonPath, Scalar, StatusSet, Strict
from relink.providers.taxonomy import ErrorClass


class Between(Strict):
    between: tuple[int, int]


JsonCondition = Scalar | list[Scalar] | Between


class ErrorRule(Strict):
    """All given conditions must hold; the first matching rule of an entry wins."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    phase: Literal["token", "api", "any"] = "any"
    status: StatusSet | None = None
    # JSON path -> a value, a list of accepted values, or {between: [low, high]}.
    match_json: dict[JsonPath, JsonCondition] = Field(default_factory=dict, alias="json")
    # Case-insensitive substring of the raw body.
    body_contains: str | None = None
    error_class: ErrorClass
    hint: str = Field(min_length=1)

    @model_validator(mode="after")
    def _has_condition(self) -> ErrorRule:
        if self.status is None and not self.match_json and self.body_contains is None:
            raise ValueError("a rule needs at least one of status, json, body_contains")
        return self


class ErrorsSpec(Strict):
    # Where the provider puts its error code(s) and message: for logs and the detail line.
    code_paths: tuple[JsonPath, ...] = ()
    message_paths: tuple[JsonPath, ...] = ()
    # Where a permission_denied answer lists the permissions it wanted (the hint names them).
    permission_paths: tuple[JsonPath, ...] = ()
    rules: tuple[ErrorRule, ...] = ()
