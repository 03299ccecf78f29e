"""The sign-in and consent page of the sandbox's authorization endpoint (no JavaScript)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.responses import HTMLResponse

TEMPLATES_DIR = Path(__file__).parent / "templates"
CLIENT_DISPLAY_NAME = "Relink"
SCOPE_DESCRIPTIONS = {
    "ads.read": "See your ad accounts and their reports",
    "ads.manage": "Manage your ad accounts and campaigns",
}

_templates = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR), autoescape=select_autoescape(["html"])
)


@dataclass(frozen=True)
class ScopeLine:
    name: str
    description: str


def render_consent(
    *, action_url: str, scopes: list[str], email: str, error: str | None, status_code: int = 200
) -> HTMLResponse:
    lines = [ScopeLine(s, SCOPE_DESCRIPTIONS.get(s, s)) for s in scopes]
    html = _templates.get_template("consent.html").render(
        action_url=action_url,
        client_name=CLIENT_DISPLAY_NAME,
        scopes=lines,
        email=email,
        error=error,
    )
    # The page carries a live authorization request: never cache it.
    return HTMLResponse(html, status_code=status_code, headers={"Cache-Control": "no-store"})


def render_error_page(*, title: str, message: str, status_code: int = 400) -> HTMLResponse:
    html = _templates.get_template("error.html").render(title=title, message=message)
    return HTMLResponse(html, status_code=status_code)
