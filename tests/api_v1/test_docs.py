"""/docs works offline: Swagger UI from the package's own files, nothing from another host."""

from __future__ import annotations

import re

import httpx

# Generous: a loaded machine answers the first request of a fresh app slowly.
TIMEOUT = 30
# What a page loads from: src and href attributes, and url(...) in styles.
REFERENCE = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|url\(\s*["']?([^)"']+)""")


def _references(text: str) -> list[str]:
    return [a or b for a, b in REFERENCE.findall(text)]


def test_docs_loads_only_files_of_its_own_origin(app_url: str) -> None:
    page = httpx.get(f"{app_url}/docs", timeout=TIMEOUT)

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    references = _references(page.text)
    assert references
    assert [r for r in references if not r.startswith("/") or r.startswith("//")] == []


def test_every_file_docs_loads_is_served(app_url: str) -> None:
    page = httpx.get(f"{app_url}/docs", timeout=TIMEOUT)

    for reference in _references(page.text):
        asset = httpx.get(app_url + reference, timeout=TIMEOUT)
        assert asset.status_code == 200, reference
        assert not re.search(r"url\(\s*[\"']?(https?:)?//", asset.text), reference


def test_docs_starts_swagger_ui_from_a_file_the_content_policy_allows(app_url: str) -> None:
    page = httpx.get(f"{app_url}/docs", timeout=TIMEOUT)

    # script-src 'self': an inline script would not run, so every script has a src.
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", page.text) == []
    starter = httpx.get(f"{app_url}/static/swagger-ui/relink-docs.js", timeout=TIMEOUT).text
    assert 'url: "/openapi.json"' in starter
    # The validator badge would send the document to another host.
    assert "validatorUrl: null" in starter


def test_the_document_docs_reads_is_the_versioned_api(app_url: str) -> None:
    document = httpx.get(f"{app_url}/openapi.json", timeout=TIMEOUT).json()

    assert document["paths"] and all(p.startswith("/api/v1/") for p in document["paths"])
    assert httpx.get(f"{app_url}/redoc", timeout=TIMEOUT).status_code == 404
