"""CSRF: every state-changing request carries the session's token (form field or header).

JSON bodies are accepted as proof too: a cross-site page cannot send `application/json`
without a CORS preflight, which Relink never grants. For the same reason a request carrying an
``Authorization`` header (a script's API token) is exempt: its token, not a cookie the browser
attached by itself, is what lets it in (api_tokens/bearer.py), and a malformed or unknown one
is refused by the user dependency.
"""

from __future__ import annotations

import secrets

from fastapi import Request

from relink.api_tokens.bearer import carries_token
from relink.errors import RelinkError

SESSION_KEY = "csrf"
FORM_FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class CsrfRefused(RelinkError):
    status_code = 403

    def __init__(self) -> None:
        super().__init__(
            "this form has expired or did not come from Relink; reload the page and try again"
        )


def csrf_token(request: Request) -> str:
    """The session's token, created on first use."""
    token = request.session.get(SESSION_KEY)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session[SESSION_KEY] = token
    return token


async def csrf_protect(request: Request) -> None:
    """A dependency for every router: unsafe methods need the token."""
    # A token's request first, whatever its method: its session is then never saved.
    if carries_token(request) or request.method in SAFE_METHODS:
        return
    expected = request.session.get(SESSION_KEY)
    sent = request.headers.get(HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(FORM_FIELD)
        sent = value if isinstance(value, str) else None
    if sent is None and request.headers.get("content-type", "").startswith("application/json"):
        return
    if not isinstance(expected, str) or sent is None or not secrets.compare_digest(expected, sent):
        raise CsrfRefused()
