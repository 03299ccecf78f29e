"""Catalog entries on disk for the catalog's tests: the shipped keys, and copies to break."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from relink.providers.catalog import CATALOG_DIR

EXPECTED_KEYS = [
    "callrail",
    "google_ads",
    "google_analytics",
    "google_search_console",
    "hubspot",
    "linkedin_ads",
    "mailchimp",
    "meta_ads",
    "microsoft_ads",
    "sandbox",
    "sandbox_api",
    "semrush",
    "stripe",
]


def write_entry(folder: Path, name: str, text: str) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def copy_entry(folder: Path, key: str) -> dict[str, object]:
    """Copy one shipped entry into `folder` and return its parsed content for editing."""
    shutil.copy(CATALOG_DIR / f"{key}.yaml", folder / f"{key}.yaml")
    loaded = yaml.safe_load((folder / f"{key}.yaml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def save(folder: Path, key: str, content: dict[str, object]) -> None:
    (folder / f"{key}.yaml").write_text(yaml.safe_dump(content), encoding="utf-8")
