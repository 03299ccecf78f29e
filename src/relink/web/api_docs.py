"""``/docs``: Swagger UI over ``/openapi.json``, served from the package's own files.

Its script and styles are vendored in ``static/swagger-ui/`` (swagger-ui-dist, see VERSION
there), so the page works on a machine with no way out to a CDN, and under the app's content
policy (scripts from our own origin only: the page starts Swagger UI from a file, not an
inline script). A plain route, like the probes: neither a page behind sign-in nor part of
the API it documents.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

ASSETS = "/static/swagger-ui"
DOCS_PATH = "/docs"

PAGE = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Relink API</title>
<link rel="icon" type="image/png" href="{ASSETS}/favicon-32x32.png">
<link rel="stylesheet" href="{ASSETS}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{ASSETS}/swagger-ui-bundle.js"></script>
<script src="{ASSETS}/relink-docs.js"></script>
</body>
</html>
"""


async def docs(request: Request) -> HTMLResponse:
    """The API's interactive reference."""
    return HTMLResponse(PAGE)


routes = [Route(DOCS_PATH, docs, methods=["GET"], name="api_docs")]
