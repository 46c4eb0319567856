"""A public ``api`` Protocol described as operations: name, argument struct, result type.

Built once from the Protocol's type hints (``typing.get_type_hints``), so a method added to
a Protocol is served and callable remotely with no code per method. Arguments travel as one
JSON object keyed by parameter name (decoded strictly into a struct made from the
signature: unknown fields refused, defaults kept); the result travels as the JSON of its
declared type and is decoded back into that type (DTOs, ``None``, sets, dicts by UUID).
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

from hub.kernel.contract import is_idempotent

#: Where every context serves its interfaces; the reverse proxy never routes it publicly.
INTERNAL_PREFIX = "/internal/v1"


@dataclass(frozen=True)
class Operation:
    """One method of a Protocol, as it travels."""

    name: str
    #: Struct of the method's parameters (keyword names; defaults as declared).
    params: type[msgspec.Struct]
    #: The declared return type (after ``async``), what the response decodes into.
    result: Any
    #: Safe to retry (``hub.kernel.contract.idempotent``).
    idempotent: bool
    #: Parameter names in declaration order, to bind positional calls.
    parameters: tuple[str, ...]
    signature: inspect.Signature

    def bind(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> msgspec.Struct:
        """The argument struct of one call, bound as Python binds the Protocol's method
        (a missing or unknown argument is the caller's ``TypeError``, as in process)."""
        bound = self.signature.bind(None, *args, **kwargs)
        values = {k: v for k, v in bound.arguments.items() if k != "self"}
        return self.params(**values)

    def arguments(self, params: msgspec.Struct) -> dict[str, Any]:
        return {name: getattr(params, name) for name in self.parameters}


@dataclass(frozen=True)
class Interface:
    """A context's public Protocol and the dependency name its implementation is wired as."""

    context: str
    protocol: type[Any]
    #: The service name other contexts receive it by (``identity_api``).
    dependency: str
    operations: Mapping[str, Operation]

    def path(self, operation: str) -> str:
        return f"{INTERNAL_PREFIX}/{self.context}/{operation}"


_PARAMS: dict[tuple[type[Any], str], type[msgspec.Struct]] = {}


def describe(context: str, protocol: type[Any], dependency: str) -> Interface:
    """The operations of ``protocol``: each public ``async def`` with its hints resolved."""
    operations: dict[str, Operation] = {}
    for name, member in inspect.getmembers(protocol, inspect.iscoroutinefunction):
        if name.startswith("_"):
            continue
        hints = typing.get_type_hints(member)
        signature = inspect.signature(member)
        fields: list[tuple[str, Any] | tuple[str, Any, Any]] = []
        names: list[str] = []
        for param in list(signature.parameters.values())[1:]:
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                raise TypeError(f"{protocol.__name__}.{name}: *args/**kwargs cannot travel")
            if param.name not in hints:
                raise TypeError(f"{protocol.__name__}.{name}: {param.name} has no type hint")
            names.append(param.name)
            if param.default is inspect.Parameter.empty:
                fields.append((param.name, hints[param.name]))
            else:
                fields.append((param.name, hints[param.name], param.default))
        # One argument struct per Protocol method, however many contexts implement the
        # Protocol (the kernel's PersonalDataApi): the internal document names it once.
        params = _PARAMS.get((protocol, name))
        if params is None:
            params = _PARAMS[(protocol, name)] = msgspec.defstruct(
                f"{protocol.__name__}.{name}",
                fields,
                kw_only=True,
                forbid_unknown_fields=True,
                module=protocol.__module__,
            )
        operations[name] = Operation(
            name=name,
            params=params,
            result=hints.get("return", Any),
            idempotent=is_idempotent(member),
            parameters=tuple(names),
            signature=signature,
        )
    if not operations:
        raise TypeError(f"{protocol.__name__} declares no async method")
    return Interface(
        context=context, protocol=protocol, dependency=dependency, operations=operations
    )


def check_distinct(interfaces: typing.Sequence[Interface]) -> None:
    """Two interfaces of one context may not share an operation name (one URL each)."""
    seen: dict[tuple[str, str], str] = {}
    for interface in interfaces:
        for name in interface.operations:
            key = (interface.context, name)
            if key in seen:
                raise TypeError(
                    f"{interface.context}: {name} is declared by both {seen[key]} "
                    f"and {interface.protocol.__name__}"
                )
            seen[key] = interface.protocol.__name__
