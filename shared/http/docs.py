"""Swagger UI at ``/docs``, served entirely from this server: no CDN, no inline script.

The Swagger UI files (JavaScript, CSS) come from the ``fastapi-offline`` package, which ships the
``swagger-ui-dist`` build; they are mounted under ``/docs/assets``. The page's start-up script is a
file of its own (``/docs/swagger-init.js``), so the page works under the strict Content-Security-Policy
of ``shared/http/hygiene.py`` (``script-src 'self'``, no ``'unsafe-inline'``).
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

ASSETS = Path(fastapi_offline.__file__).parent / "static"
REQUIRED = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon.png")

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<link rel="stylesheet" href="{root}/docs/assets/swagger-ui.css">
<link rel="icon" href="{root}/docs/assets/favicon.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{root}/docs/assets/swagger-ui-bundle.js"></script>
<script src="{root}/docs/swagger-init.js"></script>
</body>
</html>
"""

_INIT = """window.ui = SwaggerUIBundle({{
  url: {openapi},
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
}});
"""


def install(app: FastAPI, *, title: str) -> None:
    """Serve Swagger UI at /docs; create the app with ``docs_url=None, redoc_url=None``."""
    missing = [name for name in REQUIRED if not (ASSETS / name).is_file()]
    if missing:
        raise RuntimeError(f"Swagger UI files missing from {ASSETS}: {', '.join(missing)}")
    app.mount("/docs/assets", StaticFiles(directory=ASSETS), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return HTMLResponse(_PAGE.format(title=html.escape(f"{title} - API"), root=html.escape(root)))

    @app.get("/docs/swagger-init.js", include_in_schema=False)
    def swagger_init(request: Request) -> Response:
        root = request.scope.get("root_path", "").rstrip("/")
        return Response(_INIT.format(openapi=json.dumps(root + openapi_url)), media_type="text/javascript")
