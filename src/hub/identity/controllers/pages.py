"""The hub's own pages behind the links in identity's mails, at the site root.

``/verify-email``, ``/reset-password`` and ``/accept-invitation`` (each ``?token=…``) are
where the mailed links point while no frontend takes them (``HUB_FRONTEND_URL`` unset), so
the default setup works in a browser end to end. Each is one static HTML document with a
small form whose script POSTs the token to the API beside it; with a frontend configured
they answer 404 like any unknown path.

Their inline script and style are allowed by hash in a page-specific CSP (the API's own
``default-src 'none'`` would block them); nothing is loaded from anywhere else, and the
forms cannot submit anywhere without the script (``form-action 'none'``), so a password
never ends up in a URL.
"""

from __future__ import annotations

import base64
import hashlib
from html import escape
from pathlib import Path

from litestar import MediaType, Response, get
from litestar.di import NamedDependency

from hub.identity.services.mail import (
    ACCEPT_INVITATION_PAGE,
    LINK_PAGES,
    RESET_PASSWORD_PAGE,
    VERIFY_EMAIL_PAGE,
)
from hub.kernel.errors import NotFound
from hub.kernel.settings import Settings

ASSETS = Path(__file__).resolve().parent.parent / "pages"

TITLES = {
    VERIFY_EMAIL_PAGE: "Confirm your e-mail address",
    RESET_PASSWORD_PAGE: "Choose a new password",
    ACCEPT_INVITATION_PAGE: "Join an organisation",
}


def _source_hash(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def _render(page: str, style: str, script: str) -> bytes:
    body = (ASSETS / f"{page}.html").read_text(encoding="utf-8")
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>{escape(TITLES[page])} · Hub</title><style>{style}</style></head>\n"
        f'<body><main>\n{body}<p id="out" role="status"></p>\n</main>'
        f"<script>{script}</script></body></html>\n"
    ).encode()


class LinkPages:
    """The rendered pages and their CSP, built once; ``enabled`` while no frontend is
    configured to serve the links instead."""

    def __init__(self, settings: Settings) -> None:
        self.enabled = not settings.frontend_url
        style = (ASSETS / "page.css").read_text(encoding="utf-8")
        script = (ASSETS / "page.js").read_text(encoding="utf-8")
        self.csp = (
            f"default-src 'none'; script-src {_source_hash(script)}; "
            f"style-src {_source_hash(style)}; connect-src 'self'; form-action 'none'; "
            "base-uri 'none'; frame-ancestors 'none'"
        )
        self.pages = {page: _render(page, style, script) for page in LINK_PAGES}

    def respond(self, page: str) -> Response[bytes]:
        if not self.enabled:
            raise NotFound("No resource at this address.")
        return Response(
            self.pages[page],
            media_type=MediaType.HTML,
            headers={
                "Content-Security-Policy": self.csp,
                # The address carries a single-use token: keep it out of every cache.
                "Cache-Control": "no-store",
            },
        )


@get(f"/{VERIFY_EMAIL_PAGE}", include_in_schema=False)
async def verify_email_page(link_pages: NamedDependency[LinkPages]) -> Response[bytes]:
    return link_pages.respond(VERIFY_EMAIL_PAGE)


@get(f"/{RESET_PASSWORD_PAGE}", include_in_schema=False)
async def reset_password_page(link_pages: NamedDependency[LinkPages]) -> Response[bytes]:
    return link_pages.respond(RESET_PASSWORD_PAGE)


@get(f"/{ACCEPT_INVITATION_PAGE}", include_in_schema=False)
async def accept_invitation_page(link_pages: NamedDependency[LinkPages]) -> Response[bytes]:
    return link_pages.respond(ACCEPT_INVITATION_PAGE)


PAGE_HANDLERS = (verify_email_page, reset_password_page, accept_invitation_page)
