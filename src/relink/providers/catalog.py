"""Loading the provider catalog: one YAML file per provider, validated into ProviderSpec."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from relink.errors import RelinkError
from relink.providers.spec import ProviderSpec
from relink.providers.taxonomy import ImportMode

CATALOG_DIR = Path(__file__).with_name("catalog")
# Where the sandbox listens by default; tests pass their own loopback port.
DEFAULT_BASE_URLS: Mapping[str, str] = {"sandbox_url": "http://127.0.0.1:8001"}

# Only lower-case names: keeps regex quantifiers such as `{32}` in key patterns untouched.
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


class CatalogError(RelinkError):
    """A catalog file is missing, unreadable or invalid: Relink must not start with it."""

    status_code = 500


class UnknownProvider(RelinkError):
    status_code = 404

    def __init__(self, key: str, known: list[str]) -> None:
        super().__init__(f"unknown provider {key!r}; the catalog has: {', '.join(known)}")
        self.key = key


@dataclass(frozen=True)
class Catalog:
    """Every provider Relink knows, by key."""

    specs: Mapping[str, ProviderSpec]

    def get(self, key: str) -> ProviderSpec:
        try:
            return self.specs[key]
        except KeyError:
            raise UnknownProvider(key, sorted(self.specs)) from None

    def external_providers(self) -> frozenset[str]:
        """The providers whose data sources the platform's importers import by default."""
        return frozenset(k for k, spec in self.specs.items() if spec.imports is ImportMode.EXTERNAL)

    def display_name(self, key: str) -> str:
        """The provider's name for people; the bare key for one no longer in the catalog."""
        return self.specs[key].display_name if key in self.specs else key

    def keys(self) -> list[str]:
        return sorted(self.specs)

    def __contains__(self, key: object) -> bool:
        return key in self.specs

    def __iter__(self) -> Iterator[ProviderSpec]:
        return (self.specs[key] for key in self.keys())

    def __len__(self) -> int:
        return len(self.specs)


# libyaml's safe loader when PyYAML was built with it (its wheels are): the catalog is read at
# every start of the app, a worker and each CLI command, and the pure-Python loader took 70 ms
# of the app's 75 ms start-up here for the 13 entries; the C one about a tenth of that.
SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_catalog(
    directory: Path | str | None = None, *, base_urls: Mapping[str, str] | None = None
) -> Catalog:
    """Read and validate every `*.yaml` in `directory`; raise CatalogError naming file and field."""
    folder = Path(directory) if directory is not None else CATALOG_DIR
    files = sorted(folder.glob("*.yaml"))
    if not files:
        raise CatalogError(f"no provider files (*.yaml) in {folder}")
    urls = {**DEFAULT_BASE_URLS, **(base_urls or {})}
    specs = {spec.key: spec for spec in (load_spec(path, base_urls=urls) for path in files)}
    return Catalog(specs)


def load_spec(path: Path, *, base_urls: Mapping[str, str] | None = None) -> ProviderSpec:
    """Read and validate one catalog file; its `key` must equal the file's name."""
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER)  # noqa: S506
    except (OSError, yaml.YAMLError) as exc:
        raise CatalogError(f"{path.name}: cannot read YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise CatalogError(f"{path.name}: expected a mapping at the top level")
    filled = _fill(raw, {**DEFAULT_BASE_URLS, **(base_urls or {})})
    try:
        spec = ProviderSpec.model_validate(filled)
    except ValidationError as exc:
        raise CatalogError(_describe(path.name, exc)) from exc
    if spec.key != path.stem:
        raise CatalogError(f"{path.name}: key: must equal the file name {path.stem!r}")
    return spec


def _fill(value: Any, base_urls: Mapping[str, str]) -> Any:
    """Replace deployment placeholders in every string; leave call-time ones alone."""
    if isinstance(value, str):
        return _PLACEHOLDER.sub(
            lambda m: base_urls[m[1]].rstrip("/") if m[1] in base_urls else m[0], value
        )
    if isinstance(value, list):
        return [_fill(item, base_urls) for item in value]
    if isinstance(value, dict):
        return {key: _fill(item, base_urls) for key, item in value.items()}
    return value


def _describe(file_name: str, exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        lines.append(f"{file_name}: {where}: {message}" if where else f"{file_name}: {message}")
    return "\n".join(lines)


_default: Catalog | None = None


def default_catalog() -> Catalog:
    """The shipped catalog, loaded once per process (display names and hints only need this)."""
    global _default
    if _default is None:
        _default = load_catalog()
    return _default
