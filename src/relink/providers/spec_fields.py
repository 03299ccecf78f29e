"""The checked field types that catalog entries are made of, and URL templates.

A catalog file is read once at start-up; every value is checked here so that a typo fails loudly
then, never as a strange answer at the first call: absolute URLs, cited sources, JSON paths,
regular expressions, HTTP status sets.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlsplit

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict

from relink.providers.json_path import validate_path


def _check_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"must be an absolute http(s) URL (unfilled placeholder?): {value!r}")
    return value


def _check_regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression: {exc}") from exc
    return value


def _parse_status(value: Any) -> tuple[tuple[int, int], ...]:
    """Accept 401, "4xx", "500-599" or a list of those; return inclusive ranges."""
    items = value if isinstance(value, list | tuple) else [value]
    ranges: list[tuple[int, int]] = []
    for item in items:
        if isinstance(item, bool):
            raise ValueError(f"not an HTTP status: {item!r}")
        if isinstance(item, int):
            low = high = item
        elif isinstance(item, str) and re.fullmatch(r"[1-5]xx", item):
            low, high = int(item[0]) * 100, int(item[0]) * 100 + 99
        elif isinstance(item, str) and re.fullmatch(r"\d{3}-\d{3}", item):
            low, high = (int(part) for part in item.split("-"))
        else:
            raise ValueError(f"not an HTTP status, '4xx' or 'low-high' range: {item!r}")
        if not 100 <= low <= high <= 599:
            raise ValueError(f"HTTP status out of range: {item!r}")
        ranges.append((low, high))
    return tuple(ranges)


def _check_citation(value: str) -> str:
    if not value.startswith(("https://", "http://", "src/relink/")):
        raise ValueError(
            "a source is the documentation's URL (or, for the sandbox, its source file path)"
        )
    return value


Url = Annotated[str, AfterValidator(_check_url)]
# Where a documented fact comes from, so a reader can check it.
Citation = Annotated[str, AfterValidator(_check_citation)]
JsonPath = Annotated[str, AfterValidator(validate_path)]
Regex = Annotated[str, AfterValidator(_check_regex)]
StatusSet = Annotated[tuple[tuple[int, int], ...], BeforeValidator(_parse_status)]
Scalar = str | int | bool
Method = Literal["GET", "POST"]


class Strict(BaseModel):
    # Refuse unknown keys so a typo in a catalog file fails loudly at start-up.
    model_config = ConfigDict(extra="forbid", frozen=True)


def placeholders(template: str) -> set[str]:
    """The `{names}` a URL template still needs."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def fill_url(template: str, values: Mapping[str, str]) -> str:
    """Fill every placeholder, URL-quoting each value; raise ValueError naming a missing one."""
    missing = placeholders(template) - values.keys()
    if missing:
        raise ValueError(f"no value for URL placeholder(s) {sorted(missing)} in {template!r}")
    quoted = {name: quote(str(values[name]), safe="") for name in placeholders(template)}
    return template.format_map(quoted)
