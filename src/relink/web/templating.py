"""One Jinja2 environment for every page; autoescaped."""

from __future__ import annotations

from pathlib import Path

from fastapi.templating import Jinja2Templates

TEMPLATES_DIR = Path(__file__).with_name("templates")
STATIC_DIR = Path(__file__).with_name("static")

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
