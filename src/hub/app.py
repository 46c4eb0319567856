"""Composition root: builds the Litestar application from the kernel and the contexts.

``create_app()`` with no arguments reads ``HUB_*`` settings, which is what
``uvicorn --factory hub.app:create_app`` runs in production. ``hub run`` passes settings
in after starting the embedded servers.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, Request, Response, get
from litestar.config.app import AppConfig
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

import hub
from hub.communication import bootstrap as communication_bootstrap
from hub.content import bootstrap as content_bootstrap
from hub.identity import bootstrap as identity_bootstrap
from hub.kernel.contexts import ContextModule, dependency_order
from hub.kernel.docs import DocsPage, docs_asset
from hub.kernel.errors import EXCEPTION_HANDLERS
from hub.kernel.fast_registration import (
    OneAppRouter,
    check_dependencies_by_index,
)
from hub.kernel.health import health, ready
from hub.kernel.http import AllowedHostsMiddleware, SecurityHeadersMiddleware, cors_config
from hub.kernel.hygiene import HubRequest, InputHygieneMiddleware
from hub.kernel.inject import inject
from hub.kernel.logging import RequestContextMiddleware, configure_logging
from hub.kernel.metrics import MetricsController, MetricsMiddleware, multiprocess_problem
from hub.kernel.openapi import StrictStructSchemas, UniformOptions, document_routes
from hub.kernel.ratelimit import RateLimitPlugin
from hub.kernel.remote.server import internal_handlers
from hub.kernel.runtime import Kernel
from hub.kernel.security import security_dependencies
from hub.kernel.serving import Serving
from hub.kernel.settings import (
    Settings,
    SettingsError,
    exit_on_settings_error,
)
from hub.kernel.settings import (
    load_settings as load_kernel_settings,
)
from hub.kernel.wiring import (
    assemble,
    check_unique,
    internal_registry,
    providers,
    resolve_dependencies_in_order,
    validate_bodies_strictly,
)
from hub.packs.routes import ROUTE_HANDLERS as PACK_ROUTES
from hub.packs.wiring import add_pack_engine
from hub.workflow import bootstrap as workflow_bootstrap

API_PREFIX = "/api/v1"


def context_modules(extra: Sequence[ContextModule] = ()) -> list[ContextModule]:
    """Every context, in dependency order (identity first); names checked unique.

    ``extra`` adds contexts defined outside ``hub`` (the test suite's example context).
    """
    modules = dependency_order(
        [
            identity_bootstrap.build(),
            content_bootstrap.build(),
            communication_bootstrap.build(),
            workflow_bootstrap.build(),
            *extra,
        ]
    )
    check_unique(modules)
    return modules


def load_settings(environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
    """The kernel's settings and every context's own section, from ``HUB_*`` variables."""
    modules = context_modules()
    sections = {m.name: m.settings for m in modules if m.settings is not None}
    settings = load_kernel_settings(environ, sections=sections, **overrides)
    check_split(settings, modules)
    return settings


def served_modules(settings: Settings, modules: Sequence[ContextModule]) -> list[ContextModule]:
    """The contexts this process serves (``HUB_CONTEXTS``; all when unset)."""
    return [m for m in modules if settings.serves(m.name)]


def check_split(settings: Settings, modules: Sequence[ContextModule]) -> None:
    """``HUB_CONTEXTS`` names known contexts, and every context a served one calls is either
    served here or has its ``HUB_REMOTE_<CONTEXT>_URL`` (and a served one has none)."""
    known = {m.name: m for m in modules}
    for name in settings.contexts:
        if name not in known:
            raise SettingsError(
                f"HUB_CONTEXTS must be a comma-separated list of {', '.join(known)} "
                f"(got {','.join(settings.contexts)!r})"
            )
    for module in modules:
        if not module.interfaces:
            continue
        variable = f"HUB_REMOTE_{module.name.upper()}_URL"
        url = settings.remote_url(module.name)
        if settings.serves(module.name) and url is not None:
            raise SettingsError(
                f"{variable} must be unset in a process that serves {module.name} "
                f"(HUB_CONTEXTS) (got {url!r})"
            )
        callers = [
            m.name for m in modules if settings.serves(m.name) and module.name in m.depends_on
        ]
        if not settings.serves(module.name) and callers and url is None:
            raise SettingsError(
                f"{variable} must be set: {', '.join(callers)} (served here) calls "
                f"{module.name}, which HUB_CONTEXTS leaves out"
            )


def create_app(
    settings: Settings | None = None,
    *,
    extra_contexts: Sequence[ContextModule] = (),
    extra_route_handlers: Sequence[Any] = (),
    configure_logs: bool = True,
) -> Litestar:
    if settings is None:
        # uvicorn's --factory: a bad setting is one line on stderr and exit 3, no traceback.
        with exit_on_settings_error():
            problem = multiprocess_problem(
                sys.argv, os.environ, spawned=multiprocessing.parent_process() is not None
            )
            if problem is not None:
                raise SettingsError(problem)
            return create_app(
                load_settings(),
                extra_route_handlers=extra_route_handlers,
                configure_logs=configure_logs,
            )
    settings.check_production_safety()
    if settings.database_url is None or settings.redis_url is None:
        raise SettingsError(
            "HUB_DATABASE_URL and HUB_REDIS_URL must be set to serve the app directly; "
            "`hub run` starts embedded servers and sets them for you"
        )
    if configure_logs:
        configure_logging(settings.log_level, settings.log_format)
    database_url, redis_url = settings.database_url, settings.redis_url
    # Every context is wired (served ones in process, the others as remote adapters); only
    # the served ones bring their routes, hooks and internal API.
    every = context_modules(extra_contexts)
    with_packs = False

    def build_kernel() -> Kernel:
        nonlocal with_packs
        kernel = Kernel(settings=settings, database_url=database_url, redis_url=redis_url)
        assemble(kernel, every)
        with_packs = add_pack_engine(kernel.services)
        return kernel

    # What Litestar builds once reads the kernel through `serving` (hub.kernel.serving).
    serving = Serving(build_kernel)
    modules = served_modules(settings, every)
    internal = internal_handlers(internal_registry(settings, serving.services, modules))
    resolve_dependencies_in_order()
    validate_bodies_strictly()
    check_dependencies_by_index()
    dependencies = providers(serving.services, modules)
    api = OneAppRouter(
        path=API_PREFIX,
        route_handlers=[
            *(h for m in modules for h in m.route_handlers),
            *(PACK_ROUTES if with_packs else ()),
        ],
    )

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        # A process that froze its heap already (the test suite, once per session) keeps
        # its freeze: collecting and freezing again per app would rescan all of it.
        freeze = gc.get_freeze_count() == 0
        kernel = serving.kernel
        serving.running = True
        try:
            for module in modules:
                for hook in module.on_startup:
                    await inject(hook, kernel.services)()
            # Everything allocated so far lives as long as the process: keep it out of the
            # collector's generations so a collection during a request scans less.
            if freeze:
                gc.collect()
                gc.freeze()
            yield
        finally:
            if freeze:
                gc.unfreeze()
            for module in reversed(modules):
                for hook in module.on_shutdown:
                    await inject(hook, kernel.services)()
            await kernel.close()
            serving.running = False

    app = Litestar(
        route_handlers=[
            health,
            ready,
            openapi_json,
            docs_asset,
            MetricsController,
            api,
            *(h for m in modules for h in m.root_route_handlers),
            *internal,
            *extra_route_handlers,
        ],
        state=State(
            {"kernel": serving.kernel, "serving": serving, "settings": settings, "modules": modules}
        ),
        lifespan=[lifespan],
        dependencies={**security_dependencies(), **dependencies},
        exception_handlers=EXCEPTION_HANDLERS,
        request_class=HubRequest,
        middleware=[MetricsMiddleware],
        plugins=[
            RateLimitPlugin(serving, prefix=API_PREFIX),
            StrictStructSchemas(),
        ],
        cors_config=cors_config(settings),
        request_max_body_size=settings.max_body_bytes,
        openapi_config=OpenAPIConfig(
            title="Hub API",
            version=hub.__version__,
            description="Identity, content, communication and workflow behind one REST API.",
            # Docs live under /api/docs so the docs router's catch-all (HTML 404s) stays
            # out of /api/v1; /api/openapi.json is served by `openapi_json` below.
            path="/api/docs",
            # Served from the hub itself (kernel.docs): no CDN, works offline.
            render_plugins=[DocsPage()],
            components=Components(
                security_schemes={
                    "BearerToken": SecurityScheme(
                        type="http", scheme="bearer", bearer_format="JWT"
                    ),
                    "ApiKey": SecurityScheme(
                        type="apiKey", name="X-API-Key", security_scheme_in="header"
                    ),
                }
            ),
        ),
        debug=False,
        on_app_init=[_drop_default_logging],
    )
    # Error responses, security and links of every operation, derived from its route.
    document_routes(app, prefix=API_PREFIX)
    # Litestar applies app-level middleware per route, so it never sees a request that
    # matches no route (404/405). Request ids, access logs and security headers must cover
    # every response, so they wrap the whole ASGI handler instead.
    app.asgi_handler = RequestContextMiddleware(
        SecurityHeadersMiddleware(
            AllowedHostsMiddleware(
                InputHygieneMiddleware(UniformOptions(app.asgi_handler, app)),
                allowed=settings.allowed_hosts,
            ),
            hsts=settings.is_production,
        ),
        client_address=lambda scope: serving.kernel.security.client_address.of(scope),
    )
    return app


def renew_kernel(app: Litestar) -> Kernel:
    """Give a stopped app built by :func:`create_app` a new kernel (``hub.kernel.serving``):
    what the test suite does between two tests instead of building the app again."""
    serving: Serving = app.state.serving
    app.state.kernel = kernel = serving.renew()
    return kernel


@get(
    "/api/openapi.json",
    include_in_schema=False,
    sync_to_thread=False,
    opt={"exclude_from_metrics": True},
)
def openapi_json(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    """The OpenAPI 3.1 document at the path the frontend contract names."""
    return Response(
        request.app.openapi_schema.to_schema(), media_type="application/vnd.oai.openapi+json"
    )


def _drop_default_logging(config: AppConfig) -> AppConfig:
    # Litestar's own logging config would reconfigure the root logger; ours owns it.
    config.logging_config = None
    return config
