"""One Jinja2 environment for every page; autoescaped."""

from __future__ import annotations

from pathlib import Path

from fastapi import Request
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from relink.auth.csrf import FORM_FIELD, csrf_token
from relink.notifications.webhooks import shown_url
from relink.web.data_source_table import status_markup, table_body
from relink.web.data_source_views import ago, day, reconnect_path, shown_ago, shown_day

TEMPLATES_DIR = Path(__file__).with_name("templates")
STATIC_DIR = Path(__file__).with_name("static")

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))


def _csrf_input(request: Request) -> Markup:
    """The hidden field every form carries."""
    token = escape(csrf_token(request))
    # The token is escaped above; the rest is a constant.
    return Markup(f'<input type="hidden" name="{FORM_FIELD}" value="{token}">')  # noqa: S704


templates.env.globals["csrf_input"] = _csrf_input
templates.env.globals["csrf_token"] = csrf_token
# How days, moments and Reconnect links are worked out: once, in Python, for every page.
templates.env.globals["day_label"] = day
templates.env.globals["ago_label"] = ago
templates.env.globals["reconnect_path"] = reconnect_path
templates.env.globals["table_body"] = table_body
templates.env.globals["status_markup"] = status_markup
templates.env.filters["shown_day"] = shown_day
templates.env.filters["shown_ago"] = shown_ago
# A Slack or Teams URL is the channel's secret: pages show its host only.
templates.env.filters["shown_url"] = shown_url
