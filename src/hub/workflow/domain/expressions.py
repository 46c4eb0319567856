"""Conditions and filters in CEL (Common Expression Language), through the maintained
``common-expression-language`` package (Rust ``cel-interpreter`` bindings).

CEL has no way to reach the host language: no attribute access on host objects, no
imports, no I/O; a program sees only the maps it is handed. On top of that, saving a
definition checks each expression statically: it must compile, name only the roots the
place allows (``vars``, ``data``, ``subject``, ``event``), call only CEL's standard
functions and contain no ``__`` (so no dunder lookup is ever even attempted). Python's
``eval`` is never used.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import cel

MAX_EXPRESSION_LENGTH = 2000

#: Standard CEL functions an expression may call (operators are the ``_x_``/``@x`` names).
STANDARD_FUNCTIONS = frozenset(
    {
        "size",
        "contains",
        "startsWith",
        "endsWith",
        "matches",
        "int",
        "uint",
        "double",
        "string",
        "bool",
        "bytes",
        "timestamp",
        "duration",
        "type",
        "dyn",
        "has",
        "max",
        "min",
        "getFullYear",
        "getMonth",
        "getDate",
        "getDayOfMonth",
        "getDayOfWeek",
        "getDayOfYear",
        "getHours",
        "getMinutes",
        "getSeconds",
        "getMilliseconds",
    }
)
#: Functions the hub adds (evaluated with values computed before the expression runs):
#: ``classifier_says(label)``, the document classifier's confidence (0..1) that the
#: subject document has the tag or type ``label`` (``hub.workflow.services.host_functions``).
HOST_FUNCTIONS = frozenset({"classifier_says"})
_MACRO_BINDING = re.compile(r"\.(?:exists|all|exists_one|map|filter)\(\s*([A-Za-z_]\w*)\s*,")


class ExpressionError(ValueError):
    """Why an expression cannot be used (the message names the problem)."""


def check(source: str, roots: frozenset[str]) -> cel.Program:
    """The compiled program, or :class:`ExpressionError` with the first reason it is refused."""
    if not source.strip():
        raise ExpressionError("an expression must not be blank")
    if len(source) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError(f"an expression has at most {MAX_EXPRESSION_LENGTH} characters")
    if "__" in source:
        raise ExpressionError("names containing '__' are not allowed")
    try:
        program = cel.compile(source)
    except (ValueError, RuntimeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else "syntax error"
        raise ExpressionError(f"not a valid CEL expression: {first}") from None
    references = program.references()
    bound = set(_MACRO_BINDING.findall(source))
    unknown = sorted(set(references["variables"]) - roots - bound)
    if unknown:
        allowed = ", ".join(sorted(roots))
        raise ExpressionError(f"unknown name(s) {', '.join(unknown)} (allowed: {allowed})")
    calls = [
        f
        for f in references["functions"]
        if not (f.startswith(("_", "@", "!")) or f in STANDARD_FUNCTIONS or f in HOST_FUNCTIONS)
    ]
    if calls:
        raise ExpressionError(f"unknown function(s) {', '.join(sorted(calls))}")
    return program


def holds(
    source: str,
    values: Mapping[str, Any],
    functions: Mapping[str, Callable[..., Any]] | None = None,
) -> tuple[bool, str | None]:
    """Evaluate a (checked) condition: ``(True, None)`` when it yields true, else
    ``(False, why)`` (false, not a boolean, or an evaluation error such as a missing key).
    ``functions``: the host functions the condition calls (see ``HOST_FUNCTIONS``)."""
    try:
        if functions:
            context = cel.Context()
            for name, value in values.items():
                context.add_variable(name, value)
            for name, function in functions.items():
                context.add_function(name, function)
            result = cel.evaluate(source, context)
        else:
            result = cel.compile(source).execute(dict(values))
    except Exception as exc:
        return False, f"the condition could not be evaluated: {str(exc).splitlines()[0]}"
    if result is True:
        return True, None
    if result is False:
        return False, "the condition is false"
    return False, "the condition did not yield a boolean"


def value_of(source: str, values: Mapping[str, Any]) -> Any:
    """The value of a (checked) expression; :class:`ExpressionError` if it fails."""
    try:
        return cel.compile(source).execute(dict(values))
    except Exception as exc:
        raise ExpressionError(f"could not be evaluated: {str(exc).splitlines()[0]}") from None
