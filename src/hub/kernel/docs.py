"""The interactive API docs at ``/api/docs``, served entirely by the hub.

The page is Scalar's API reference, from a pinned build vendored beside this module
(``static/scalar-api-reference-<version>.js``, the npm package's ``standalone.js``,
licence beside it; README "API docs" says how to update it). Nothing comes from a CDN: the
page works offline, in an air-gapped deployment and under the docs' content security
policy (``hub.kernel.http``), which allows scripts from the hub only and no inline script.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import html
from pathlib import Path
from typing import Any

import msgspec
from litestar import Request, get
from litestar.exceptions import NotFoundException
from litestar.openapi.plugins import ScalarRenderPlugin
from litestar.params import FromPath
from litestar.response import File

#: The vendored build (npm ``@scalar/api-reference``); its file name carries the version.
SCALAR_VERSION = "1.72.1"
BUNDLE = f"scalar-api-reference-{SCALAR_VERSION}.js"
ASSETS_PATH = "/api/docs/assets"
_STATIC = Path(__file__).with_name("static")
#: Scalar's configuration: nothing that calls Scalar's servers (web fonts, telemetry, its
#: AI agent and MCP generator, developer tools); the CSP would block them anyway. Its
#: "Test Request" client stays: it calls the hub itself.
_OPTIONS: dict[str, Any] = {
    "withDefaultFonts": False,
    "telemetry": False,
    "agent": {"disabled": True},
    "mcp": {"disabled": True},
    "showDeveloperTools": "never",
}


@functools.cache
def _integrity() -> str:
    """Subresource integrity of the bundle: a file altered after the build is not run."""
    digest = hashlib.sha384((_STATIC / BUNDLE).read_bytes()).digest()
    return "sha384-" + base64.b64encode(digest).decode()


class DocsPage(ScalarRenderPlugin):
    """Scalar's page without Litestar's CDN links (script, stylesheet, favicon) and
    without inline script: the configuration travels in a data attribute."""

    def __init__(self) -> None:
        super().__init__(path="/", js_url=f"{ASSETS_PATH}/{BUNDLE}", options=_OPTIONS)

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        title = html.escape(str(openapi_schema["info"]["title"]))
        spec_url = html.escape(self.get_openapi_json_route(request))
        options = html.escape(msgspec.json.encode(self.options).decode())
        return f"""<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>{title}</title>
    <link rel="icon" href="data:,">
  </head>
  <body>
    <noscript>The API reference needs JavaScript; the document itself is at {spec_url}.</noscript>
    <script id="api-reference" data-url="{spec_url}" data-configuration="{options}"></script>
    <script src="{html.escape(self.js_url)}" integrity="{_integrity()}"></script>
  </body>
</html>
""".encode()


@get(
    f"{ASSETS_PATH}/{{name:str}}",
    include_in_schema=False,
    sync_to_thread=False,
    opt={"exclude_from_metrics": True},
)
def docs_asset(name: FromPath[str]) -> File:
    """The vendored bundle; cached for good, since its name changes with its version."""
    if name != BUNDLE:
        raise NotFoundException()
    return File(
        path=_STATIC / BUNDLE,
        media_type="text/javascript; charset=utf-8",
        content_disposition_type="inline",
        headers={"Cache-Control": "public, max-age=31536000, immutable"},
    )
