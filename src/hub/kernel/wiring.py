"""Builds each context's services once per process and hands them out by name.

A context declares ``services=build_services`` on its :class:`ContextModule`: a function of
its :class:`ContextRuntime` returning ``{"dependency_name": instance}``. The kernel calls
it once, then serves each instance to controllers as a Litestar dependency of that name,
and to jobs, start-up hooks and CLI commands through :func:`inject` (keyword-only
parameters named after a dependency receive it), in the spirit of cosmicpython's
``bootstrap.py``: dependencies are injected by signature, never looked up.

Names are global across contexts: two contexts registering the same dependency name,
permission key, job name, periodic job or CLI command fail here, at start-up.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import msgspec
from litestar._kwargs.kwargs_model import KwargsModel
from litestar.di import Provide

from hub.kernel.contexts import ContextModule
from hub.kernel.inject import WiringError, inject
from hub.kernel.personal_data import PersonalDataExport
from hub.kernel.remote.client import RemoteClient, remote_adapter
from hub.kernel.remote.interface import check_distinct
from hub.kernel.remote.server import InternalRegistry
from hub.kernel.remote.tokens import ServiceTokens, service_key
from hub.kernel.runtime import Kernel
from hub.kernel.sealing import configured_key_ids
from hub.kernel.secret_rotation import SecretRotation
from hub.kernel.settings import Settings
from hub.kernel.tenancy import provide_membership
from hub.kernel.web import Idempotency, provide_client_info

#: Dependencies the kernel itself provides to every route.
KERNEL_DEPENDENCIES = ("principal", "optional_principal", "token_principal", "membership")


#: Services the kernel itself wires (beside every context's).
KERNEL_SERVICES = ("idempotency", "personal_data", "secret_rotation")


def _kernel_names() -> dict[str, str]:
    return {n: "the kernel" for n in (*KERNEL_DEPENDENCIES, "client_info", *KERNEL_SERVICES)}


def _claim(seen: dict[str, str], kind: str, name: str, owner: str) -> None:
    if name in seen:
        raise WiringError(f"{kind} {name!r} is declared by both {seen[name]} and {owner}")
    seen[name] = owner


def check_unique(modules: Sequence[ContextModule]) -> None:
    """Refuse two contexts declaring the same permission, job, periodic job, CLI command
    or dependency name (the kernel's own names included)."""
    names = _kernel_names()
    permissions: dict[str, str] = {}
    jobs: dict[str, str] = {}
    periodic: dict[str, str] = {}
    commands: dict[str, str] = {}
    for module in modules:
        for name in module.dependencies:
            _claim(names, "dependency", name, module.name)
        for key, _ in module.permissions:
            _claim(permissions, "permission", key, module.name)
        for spec in module.jobs:
            _claim(jobs, "job", spec.name, module.name)
        for schedule in module.periodic:
            _claim(periodic, "periodic job", schedule.name, module.name)
        for command in module.cli_commands:
            _claim(commands, "CLI command", str(command.name), module.name)


def assemble(kernel: Kernel, modules: Sequence[ContextModule]) -> None:
    """Register every context's permissions and build its services (once per kernel)."""
    if kernel.services:
        return
    for module in modules:
        kernel.permissions.register(module.name, module.permissions)
    wire(kernel, modules)


def wire(kernel: Kernel, modules: Sequence[ContextModule]) -> None:
    """Build every context's services into ``kernel.services`` (once per kernel).

    A context this process does not serve (``HUB_CONTEXTS``) contributes a remote adapter
    of each of its interfaces instead, under the same dependency name, so the contexts that
    call it are built exactly as in the monolith (``hub.kernel.remote``).
    """
    if kernel.services:
        return
    owners = _kernel_names()
    for module in modules:
        for name in module.dependencies:
            owners.setdefault(name, module.name)
    kernel.services["idempotency"] = Idempotency(kernel.idempotent_writes)
    kernel.services["personal_data"] = PersonalDataExport(
        [(m.name, m.personal_data) for m in modules if m.personal_data is not None],
        kernel.services,
    )
    # Only the contexts served here: one served elsewhere is rotated where it runs.
    kernel.services["secret_rotation"] = SecretRotation(
        configured_key_ids(kernel.settings),
        [m.secrets for m in modules if m.secrets and kernel.settings.serves(m.name)],
        kernel.services,
    )
    for module in modules:
        if not kernel.settings.serves(module.name):
            connect_remote(kernel, module)
            continue
        if module.services is None:
            continue
        # The factory may name other contexts' public interfaces (already wired: modules
        # come in dependency order) as keyword-only parameters: `*, identity_api: IdentityApi`.
        provided = inject(module.services, kernel.services)(kernel.bind(module))
        for name, value in provided.items():
            _claim(owners, "dependency", name, module.name)
            kernel.services[name] = value


def providers(services: Mapping[str, Any], modules: Sequence[ContextModule]) -> dict[str, Provide]:
    """Litestar dependencies: every wired service, the kernel's, and each context's own.

    A service is looked up by name at each request in ``services`` (the current kernel's,
    ``hub.kernel.serving``), not captured: a built app may be handed a new kernel."""
    out: dict[str, Provide] = {
        "client_info": Provide(provide_client_info, sync_to_thread=False),
        "membership": Provide(provide_membership, sync_to_thread=False),
    }
    for name in services:
        out[name] = Provide(_lookup(services, name), sync_to_thread=False)
    for module in modules:
        out.update(module.dependencies)
    return out


def _lookup(services: Mapping[str, Any], name: str) -> Callable[[], Any]:
    def provide() -> Any:
        return services[name]

    return provide


def resolve_dependencies_in_order() -> None:
    """Resolve a route's sibling dependencies one after another.

    Litestar resolves dependencies that do not depend on each other in an anyio task group;
    every dependency of ours is a constant, a scope read or a single await, so the task
    group (measured: the largest per-request cost of a cheap handler such as ``GET
    /auth/me``) buys nothing. Installed once by the composition root; the litestar version
    is pinned and ``tests/unit/kernel/test_wiring.py`` checks the behaviour.
    """
    if getattr(KwargsModel.resolve_dependencies, "_hub_sequential", False):
        return
    from litestar._kwargs.cleanup import DependencyCleanupGroup
    from litestar._kwargs.dependencies import resolve_dependency

    async def resolve_dependencies(
        self: KwargsModel, connection: Any, kwargs: dict[str, Any]
    ) -> DependencyCleanupGroup:
        cleanup_group = DependencyCleanupGroup()
        for batch in self.dependency_batches:
            for dependency in batch:
                await resolve_dependency(dependency, connection, kwargs, cleanup_group)
        return cleanup_group

    resolve_dependencies._hub_sequential = True  # type: ignore[attr-defined]
    KwargsModel.resolve_dependencies = resolve_dependencies  # type: ignore[method-assign]


_STRICT_BODY = "_hub_strict_body"


def validate_bodies_strictly() -> None:
    """Decode request bodies strictly, as the OpenAPI document describes them.

    Litestar converts a handler's arguments in lax mode, which suits path and query
    strings but lets a JSON body say ``{"restricted": 0}`` or ``{"limit": "5"}`` where the
    document promises a boolean or an integer. The body (``data``) is checked in strict
    mode first, so a body that does not match the document is a 400 naming the field.
    Installed once by the composition root beside :func:`resolve_dependencies_in_order`.
    """
    from litestar._signature.model import ERR_RE, SignatureModel
    from litestar.exceptions import ValidationException

    if getattr(SignatureModel.parse_values_from_connection_kwargs, _STRICT_BODY, False):
        return
    lax = SignatureModel.parse_values_from_connection_kwargs.__func__  # type: ignore[attr-defined]
    body_types: dict[type[Any], Any] = {}

    def parse(cls: type[SignatureModel], connection: Any, kwargs: dict[str, Any]) -> Any:
        if "data" in kwargs:
            data_type = body_types.get(cls, _UNKNOWN)
            if data_type is _UNKNOWN:
                fields = {f.name: f.type for f in msgspec.structs.fields(cls)}
                data_type = body_types[cls] = _struct_type(fields.get("data"))
            if data_type is not None:
                if kwargs["data"] is None and _sent_a_body(connection):
                    # An optional body may be left out; JSON ``null`` is not leaving it out
                    # (the document promises an object when there is a body at all).
                    raise ValidationException(
                        detail=f"Validation failed for {connection.method} {connection.url.path}",
                        extra=[{"key": "data", "message": "Expected `object`, got `null`"}],
                    )
                try:
                    msgspec.convert(
                        _integral_floats_as_ints(kwargs["data"]),
                        data_type,
                        strict=True,
                        str_keys=True,
                    )
                except msgspec.ValidationError as exc:
                    match = ERR_RE.search(str(exc))
                    keys = ["data", match.group(1)] if match else ["data"]
                    message = cls._build_error_message(
                        keys=keys, exc_msg=str(exc), connection=connection
                    )
                    # Always the client's: a body field may share its name with a service
                    # (``roles``), which Litestar's own helper would take for a failed
                    # dependency and answer 500.
                    raise ValidationException(
                        detail=f"Validation failed for {connection.method} {connection.url.path}",
                        extra=[message],
                    ) from exc
        return lax(cls, connection, kwargs)

    setattr(parse, _STRICT_BODY, True)
    SignatureModel.parse_values_from_connection_kwargs = classmethod(parse)  # type: ignore[method-assign,assignment]


_UNKNOWN = object()


def _integral_floats_as_ints(value: Any) -> Any:
    """JSON has one number type: ``352.0`` is an integer to JSON Schema (and to the document),
    so it passes where an integer is expected; ``352.5`` and ``"352"`` still do not."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _integral_floats_as_ints(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_integral_floats_as_ints(v) for v in value]
    return value


def _sent_a_body(connection: Any) -> bool:
    """Whether the request carried body bytes (Litestar decodes an empty JSON body and a
    literal ``null`` alike to None; the bytes it already read tell the two apart)."""
    body = getattr(connection, "_body", None)
    return isinstance(body, bytes) and bool(body.strip())


def _struct_type(annotation: Any) -> Any:
    """The msgspec Struct (or list of them) a ``data`` field holds; None for anything else
    (raw bytes, multipart forms, streamed bodies keep Litestar's own handling). An optional
    body (``Struct | None``) is checked as the Struct when one is sent."""
    import types
    import typing

    if annotation is None:
        return None
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _struct_type(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(members) == 1 and len(typing.get_args(annotation)) == 2:
            inner = _struct_type(members[0])
            return None if inner is None else inner | None
        return None
    if isinstance(annotation, type) and issubclass(annotation, msgspec.Struct):
        return annotation
    if origin is list and all(
        isinstance(a, type) and issubclass(a, msgspec.Struct) for a in typing.get_args(annotation)
    ):
        return annotation
    return None


def connect_remote(kernel: Kernel, module: ContextModule) -> None:
    """Wire the remote adapters of a context served elsewhere (none without its URL: no
    served context calls it, as the settings check made sure)."""
    url = kernel.settings.remote_url(module.name)
    if url is None or not module.interfaces:
        return
    settings = kernel.settings
    client = RemoteClient(
        module.name,
        url,
        tokens=ServiceTokens(service_key(settings.secret_key, settings.service_key)),
        redis=kernel.redis,
        clock=kernel.clock,
        timeout_s=settings.remote_timeout_ms / 1000,
        retries=settings.remote_retries,
        backoff_s=settings.remote_backoff_ms / 1000,
        breaker_failures=settings.remote_breaker_failures,
        breaker_reset_s=settings.remote_breaker_reset_s,
    )
    kernel.remote_clients.append(client)
    for interface in module.interfaces:
        kernel.services[interface.dependency] = remote_adapter(interface, client)
    if module.on_remote is not None:
        inject(module.on_remote, kernel.services)(kernel)


def internal_registry(
    settings: Settings, services: Mapping[str, Any], modules: Sequence[ContextModule]
) -> InternalRegistry:
    """The interfaces this process serves over ``/internal/v1`` (its served contexts'),
    implemented by ``services`` (the current kernel's)."""
    interfaces = [i for m in modules if settings.serves(m.name) for i in m.interfaces]
    check_distinct(interfaces)
    tokens = ServiceTokens(service_key(settings.secret_key, settings.service_key))
    return InternalRegistry(interfaces, services, tokens)
