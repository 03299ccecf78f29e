"""Turning a provider's HTTP answer (or its absence) into a value or a ProviderFailure."""

from __future__ import annotations

import json
from typing import Any, Literal

from relink.providers.classify import Classification, classify
from relink.providers.http import Answer
from relink.providers.results import ProviderFailure
from relink.providers.spec import ProviderSpec
from relink.providers.taxonomy import ErrorClass

HINT_UNREADABLE = "The provider sent data Relink could not read; the previous data is kept."


def failure(
    spec: ProviderSpec, answer: Answer, *, phase: Literal["token", "api"], operation: str
) -> ProviderFailure:
    """The classified failure of a non-2xx answer."""
    classification = classify(
        spec, status=answer.status, body=answer.body, headers=answer.headers, phase=phase
    )
    return ProviderFailure(classification, provider=spec.key, operation=operation)


def no_answer(spec: ProviderSpec, operation: str) -> ProviderFailure:
    """A timeout or lost connection: always transient, never a disconnect."""
    classification = classify(spec, status=None, body=None, headers=None, phase="api")
    return ProviderFailure(classification, provider=spec.key, operation=operation, answered=False)


def data_error(spec: ProviderSpec, operation: str, detail: str) -> ProviderFailure:
    classification = Classification(ErrorClass.DATA_ERROR, HINT_UNREADABLE, detail=detail)
    return ProviderFailure(classification, provider=spec.key, operation=operation)


def json_body(spec: ProviderSpec, answer: Answer, operation: str) -> Any:
    """The answer's JSON, or a data_error failure."""
    try:
        return json.loads(answer.body)
    except ValueError:
        raise data_error(spec, operation, "the answer is not JSON") from None
