"""Security headers on every response: no framing, no sniffing, a strict content policy.

One ASGI middleware, so pages, the JSON API, static files and error pages all get the same
headers without any handler remembering to add them.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Everything comes from our own origin: our templates load only /static scripts and styles
# (htmx is vendored there), and fetch/EventSource only call our own API.
# - style-src-attr 'unsafe-inline': templates position timeline bars with style="left:..";
#   attributes cannot run code, while <style> elements stay limited to our own files.
# - form-action is left unset on purpose: Chrome applies it to the redirect after a form post,
#   and "Reconnect" posts to us and is redirected to the provider's consent page.
# - frame-ancestors 'none': the one-click Reconnect button must never be framed (clickjacking).
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "style-src-attr 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    )
)
# Elsewhere other sites learn only our origin, never a path or query.
DEFAULT_REFERRER_POLICY = "strict-origin-when-cross-origin"
# Paths whose URLs carry a secret (a reconnect-link token; an OAuth code and state): a page
# reached there must not hand its URL to anything it loads or links to.
SECRET_URL_PREFIXES = ("/r/", "/oauth/")
# A year, the value HSTS preload lists ask for; sent only when Relink is served over https.
HSTS_MAX_AGE_SECONDS = 365 * 24 * 3600


def referrer_policy(path: str) -> str:
    """``no-referrer`` where the URL holds a token, the cross-origin-safe default elsewhere."""
    return "no-referrer" if path.startswith(SECRET_URL_PREFIXES) else DEFAULT_REFERRER_POLICY


def security_headers(path: str, *, https: bool) -> dict[str, str]:
    """The headers every response for ``path`` carries."""
    headers = {
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": referrer_policy(path),
        "Cross-Origin-Opener-Policy": "same-origin",
    }
    if https:
        headers["Strict-Transport-Security"] = f"max-age={HSTS_MAX_AGE_SECONDS}"
    return headers


class SecurityHeadersMiddleware:
    """Adds :func:`security_headers` to every HTTP response; a handler's own value wins."""

    def __init__(self, app: ASGIApp, *, https: bool = False) -> None:
        self.app = app
        self.https = https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        added = security_headers(scope["path"], https=self.https)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in added.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
