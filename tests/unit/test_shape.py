"""Architecture tests on the SHAPE of every context, not only on its imports.

import-linter (``.importlinter``, ``test_boundaries.py``) says who may import whom. These
tests, in the spirit of kgrzybek's architecture tests, check what the modules *are*:

* ``hub.<ctx>.api`` holds contracts only: Protocols (stub methods), msgspec DTOs,
  integration events, enums, constants and type aliases; no function runs code there;
* every integration event carries primitives only (str, int, float, bool, UUID, datetime,
  date, literals, and lists/tuples/dicts of those) and its ``event_type`` is
  ``<ctx>.<name>``;
* every context has the same layout (ARCHITECTURE.md, "one shape for all four"): the
  modules it must have for what it declares, and no module outside that shape;
* ``bootstrap.build()`` returns a ``ContextModule`` named after its package whose tables
  all live in the schema of that name, and whose permission keys start with ``<ctx>.``;
* routes live under ``controllers``, event handlers under ``handlers``, jobs under
  ``tasks``, commands under ``cli``; a route's ``permission(...)`` is one its context
  declares (a typo there would refuse everybody with 403).

Each checker returns the problems it finds, and each is also run on a planted violation,
so a rule that could never fail would show up here.
"""

from __future__ import annotations

import ast
import enum
import importlib
import importlib.util
import inspect
import pkgutil
import sys
import textwrap
import types
import typing
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import msgspec.inspect as mi
import pytest
from litestar import Controller, post
from litestar.handlers import BaseRouteHandler
from sqlalchemy import MetaData

from hub.kernel.contexts import ContextModule
from hub.kernel.events import IntegrationEvent
from hub.kernel.jobs import job
from hub.kernel.outbox import inbox_table, outbox_table
from hub.kernel.subscribers import Subscription
from hub.kernel.tenancy import permission

#: ``(package, context name)`` of every context held to the shape: hub's four, and the
#: example context of the test suite (docs/contexts.md), which must model the same shape.
CONTEXTS = [
    *((f"hub.{name}", name) for name in ("identity", "content", "communication", "workflow")),
    ("tests.kit_example", "example"),
]

#: ARCHITECTURE.md, "Inside a context, one shape for all four" (plus ``cli`` for commands
#: and ``deps`` for route guards, both in the layers contract); each a module or a package.
SHAPE = frozenset(
    {
        "api",
        "facade",
        "bootstrap",
        "controllers",
        "handlers",
        "tasks",
        "cli",
        "deps",
        "schemas",
        "services",
        "repositories",
        "models",
        "domain",
    }
)
#: Clearly separated parts of a context, each with the same shape inside (its own
#: ``wiring`` hands the context's bootstrap what to register, ``permissions`` its keys):
#: a required module is present when the context or one of these parts has it.
SUBPACKAGES: dict[str, frozenset[str]] = {"hub.workflow": frozenset({"intelligence"})}
SUB_SHAPE = SHAPE - {"api", "facade", "bootstrap"} | {"wiring", "permissions"}
#: What every context has, even one that does nothing yet.
ALWAYS = ("api", "bootstrap", "models")
#: What a context that does something (routes, events, jobs or commands) has besides.
WORKING = ("services", "repositories", "domain")


# --------------------------------------------------------------------------- the api


def _is_stub(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """``...`` or ``pass``, optionally after a docstring: a Protocol method's only body."""
    return all(
        isinstance(statement, ast.Pass)
        or (
            isinstance(statement, ast.Expr)
            and isinstance(statement.value, ast.Constant)
            and (statement.value.value is Ellipsis or isinstance(statement.value.value, str))
        )
        for statement in function.body
    )


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    name = test.id if isinstance(test, ast.Name) else getattr(test, "attr", None)
    return name == "TYPE_CHECKING" and all(
        isinstance(s, ast.Import | ast.ImportFrom) for s in node.body
    )


def _is_constant(value: Any) -> bool:
    """Plain data (recursively) or a type alias; never a callable or a live object."""
    if value is None or isinstance(value, bool | int | float | str | bytes | enum.Enum):
        return True
    if isinstance(value, tuple | list | frozenset | set):
        return all(_is_constant(v) for v in value)
    if isinstance(value, dict):
        return all(_is_constant(k) and _is_constant(v) for k, v in value.items())
    if isinstance(value, typing.TypeVar | typing.NewType | types.UnionType | types.GenericAlias):
        return True
    return typing.get_origin(value) is not None  # Annotated[...], Literal[...], X | None


def _class_problem(cls: type, node: ast.ClassDef) -> str | None:
    if getattr(cls, "_is_protocol", False):
        bodies = [
            f.name
            for f in node.body
            if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef) and not _is_stub(f)
        ]
        if bodies:
            return f"Protocol {cls.__name__} has methods with a body: {', '.join(bodies)}"
        return None
    if issubclass(cls, msgspec.Struct | enum.Enum):  # DTOs, integration events, enums
        return None
    return (
        f"class {cls.__name__} is neither a Protocol, a msgspec struct, an integration "
        "event nor an enum"
    )


def api_problems(module: types.ModuleType) -> list[str]:
    """What in an ``api`` module is not a contract (a function, a service, a live object)."""
    problems: list[str] = []
    for node in ast.parse(inspect.getsource(module)).body:
        where = f"{module.__name__}:{node.lineno}"
        if isinstance(node, ast.Import | ast.ImportFrom):
            continue
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # docstring
        if isinstance(node, ast.If) and _is_type_checking(node):
            continue
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            problems.append(f"{where} function {node.name}() (an api holds no code)")
        elif isinstance(node, ast.ClassDef):
            problem = _class_problem(getattr(module, node.name), node)
            if problem:
                problems.append(f"{where} {problem}")
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for name in ast.walk(target):
                    if isinstance(name, ast.Name) and not _is_constant(
                        getattr(module, name.id, None)
                    ):
                        problems.append(f"{where} {name.id} is neither a constant nor a type")
        else:
            problems.append(f"{where} a {type(node).__name__} statement runs code")
    return problems


# --------------------------------------------------------------------------- events

_PRIMITIVES = (
    mi.StrType,
    mi.IntType,
    mi.FloatType,
    mi.BoolType,
    mi.NoneType,
    mi.UUIDType,
    mi.DateTimeType,
    mi.DateType,
    mi.LiteralType,
)


def _primitive(t: mi.Type) -> bool:
    if isinstance(t, _PRIMITIVES):
        return True
    if isinstance(t, mi.ListType | mi.VarTupleType):
        return _primitive(t.item_type)
    if isinstance(t, mi.TupleType):
        return all(_primitive(item) for item in t.item_types)
    if isinstance(t, mi.DictType):
        return _primitive(t.key_type) and _primitive(t.value_type)
    if isinstance(t, mi.UnionType):
        return all(_primitive(option) for option in t.types)
    return False


def events_of(module: types.ModuleType) -> list[type[IntegrationEvent]]:
    """The integration events (and their bases) a module declares."""
    return [
        obj
        for obj in vars(module).values()
        if isinstance(obj, type)
        and issubclass(obj, IntegrationEvent)
        and obj.__module__ == module.__name__
    ]


def event_problems(event: type[IntegrationEvent], context: str) -> list[str]:
    problems: list[str] = []
    if event.event_type and not event.event_type.startswith(f"{context}."):
        problems.append(f"{event.__name__}.event_type {event.event_type!r} is not {context}.*")
    info = mi.type_info(event)
    assert isinstance(info, mi.StructType)
    for field in info.fields:
        if not _primitive(field.type):
            problems.append(f"{event.__name__}.{field.name} is not primitive: {field.type}")
    return problems


# --------------------------------------------------------------------------- layout


def _submodules(package: str) -> set[str]:
    path = importlib.import_module(package).__path__
    return {info.name for info in pkgutil.iter_modules(path)}


def required_modules(built: ContextModule, api: types.ModuleType) -> set[str]:
    """The modules a context must have for what its ``ContextModule`` declares."""
    needed = set(ALWAYS)
    if built.route_handlers or built.root_route_handlers:
        needed |= {*WORKING, "controllers", "schemas"}
    if built.subscriptions or built.catch_all:
        needed |= {*WORKING, "handlers"}
    if built.jobs or built.periodic:
        needed |= {*WORKING, "tasks"}
    if built.cli_commands:
        needed |= {*WORKING, "cli"}
    if any(getattr(obj, "_is_protocol", False) for obj in vars(api).values()):
        needed.add("facade")  # a Protocol others call is implemented in-process
    return needed


def layout_problems(package: str) -> list[str]:
    own = _submodules(package)
    parts = SUBPACKAGES.get(package, frozenset())
    problems = [f"{package}.{name} is outside the shape" for name in sorted(own - SHAPE - parts)]
    present = set(own)
    for part in sorted(parts & own):
        inside = _submodules(f"{package}.{part}")
        problems += [
            f"{package}.{part}.{name} is outside the shape" for name in sorted(inside - SUB_SHAPE)
        ]
        present |= inside
    if not {"api", "bootstrap"} <= present:
        return [*problems, f"{package} has no api or no bootstrap"]
    built = importlib.import_module(f"{package}.bootstrap").build()
    api = importlib.import_module(f"{package}.api")
    missing = sorted(required_modules(built, api) - present)
    problems += [f"{package}.{name} is missing" for name in missing]
    return problems


# --------------------------------------------------------------------------- bootstrap


def module_problems(built: object, name: str) -> list[str]:
    """``build()`` gives a ContextModule named ``name``: its schema, its permissions."""
    if not isinstance(built, ContextModule):
        return [f"build() returned {type(built).__name__}, not a ContextModule"]
    problems: list[str] = []
    if built.name != name:
        problems.append(f"context named {built.name!r}, package is {name!r}")
    if built.metadata.schema != name:
        problems.append(f"metadata schema {built.metadata.schema!r}, context is {name!r}")
    problems += [
        f"table {table.fullname} is outside schema {name!r}"
        for table in built.metadata.tables.values()
        if table.schema != name
    ]
    problems += [
        f"no {name}.{table} table (the kit's outbox/inbox)"
        for table in ("outbox", "inbox")
        if f"{name}.{table}" not in built.metadata.tables
    ]
    problems += [
        f"permission {key!r} is not {name}.*"
        for key, _ in built.permissions
        if not key.startswith(f"{name}.")
    ]
    return problems


def _routes(handler: Any) -> Iterator[tuple[str, BaseRouteHandler, list[Any]]]:
    """``(module, route, guards)`` of a route handler or of each route of a Controller."""
    if isinstance(handler, type) and issubclass(handler, Controller):
        outer = handler.__dict__.get("guards") or []
        for route in vars(handler).values():
            if isinstance(route, BaseRouteHandler):
                yield handler.__module__, route, [*outer, *(route.guards or [])]
    else:
        yield handler.fn.__module__, handler, list(handler.guards or [])


def _under(module: str, package: str, part: str) -> bool:
    return any(
        module == f"{root}.{part}" or module.startswith(f"{root}.{part}.")
        for root in (package, *(f"{package}.{sub}" for sub in SUBPACKAGES.get(package, ())))
    )


def placement_problems(built: ContextModule, package: str) -> list[str]:
    """Routes under controllers, handlers under handlers, jobs under tasks, commands under
    cli; every route permission one the context declares."""
    problems: list[str] = []
    declared = {key for key, _ in built.permissions}
    for handler in [*built.route_handlers, *built.root_route_handlers]:
        for module, route, guards in _routes(handler):
            label = f"route {route.fn.__qualname__}"
            if not _under(module, package, "controllers"):
                problems.append(f"{label} lives in {module}, not {package}.controllers")
            for guard in guards:
                key = getattr(guard, "permission", None)
                if key is not None and key not in declared:
                    problems.append(f"{label} needs {key!r}, which {built.name} does not declare")
    placed: list[tuple[str, str, str]] = [
        *((s.handler_name, s.handler.__module__, "handlers") for s in built.subscriptions),
        *((c.name, c.handler.__module__, "handlers") for c in built.catch_all),
        *((spec.name, spec.fn.__module__, "tasks") for spec in built.jobs),
        *((str(c.name), getattr(c.callback, "__module__", "?"), "cli") for c in built.cli_commands),
    ]
    for what, module, part in placed:
        if not _under(module, package, part):
            problems.append(f"{what} lives in {module}, not {package}.{part}")
    return problems


# --------------------------------------------------------------------------- the contexts


def _build(package: str) -> ContextModule:
    built: ContextModule = importlib.import_module(f"{package}.bootstrap").build()
    return built


@pytest.mark.parametrize(("package", "name"), CONTEXTS)
def test_api_holds_only_contracts(package: str, name: str) -> None:
    assert api_problems(importlib.import_module(f"{package}.api")) == []


@pytest.mark.parametrize(("package", "name"), CONTEXTS)
def test_events_carry_primitives_under_the_context_prefix(package: str, name: str) -> None:
    events = events_of(importlib.import_module(f"{package}.api"))
    assert [p for event in events for p in event_problems(event, name)] == []


def test_identity_events_are_checked() -> None:
    """The event rule sees identity's events (an empty list would pass vacuously)."""
    names = {e.__name__ for e in events_of(importlib.import_module("hub.identity.api"))}
    assert {"UserRegistered", "MemberAdded", "LoginFailed", "ApiKeyRevoked"} <= names


@pytest.mark.parametrize(("package", "name"), CONTEXTS)
def test_every_context_has_the_same_layout(package: str, name: str) -> None:
    assert layout_problems(package) == []


@pytest.mark.parametrize(("package", "name"), CONTEXTS)
def test_bootstrap_builds_a_module_named_after_its_package(package: str, name: str) -> None:
    assert module_problems(_build(package), name) == []


@pytest.mark.parametrize(("package", "name"), CONTEXTS)
def test_routes_jobs_handlers_and_commands_live_where_the_shape_says(
    package: str, name: str
) -> None:
    assert placement_problems(_build(package), package) == []


def test_identity_routes_are_checked() -> None:
    """The placement rule walks identity's controllers and their permission guards."""
    routes = [r for h in _build("hub.identity").route_handlers for r in _routes(h)]
    guarded = {getattr(g, "permission", None) for _, _, guards in routes for g in guards}
    assert len(routes) > 30
    assert "identity.roles.manage" in guarded


# --------------------------------------------------------------------------- planted


def _load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, source: str
) -> types.ModuleType:
    """A real module object (with its source, in ``sys.modules`` for the test) built from
    ``source``."""
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(source))
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)  # msgspec resolves annotations there
    spec.loader.exec_module(module)
    return module


GOOD_API = """
    '''A tidy api.'''
    from __future__ import annotations
    import enum, uuid
    from typing import Annotated, ClassVar, Protocol
    import msgspec
    from hub.kernel.events import IntegrationEvent

    LIMIT = 20
    Name = Annotated[str, msgspec.Meta(max_length=10)]
    KINDS: tuple[str, ...] = ("a", "b")

    class Kind(enum.Enum):
        A = "a"

    class Thing(msgspec.Struct, frozen=True):
        id: uuid.UUID
        def label(self) -> str:
            return str(self.id)

    class ThingApi(Protocol):
        async def thing(self, thing_id: uuid.UUID) -> Thing | None:
            '''A stub with a docstring.'''
            ...

    class ThingMade(IntegrationEvent, frozen=True):
        event_type: ClassVar[str] = "planted.thing_made"
        thing_id: uuid.UUID
"""


def test_api_checker_accepts_a_module_of_contracts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert api_problems(_load(tmp_path, monkeypatch, "planted_good_api", GOOD_API)) == []


def test_api_checker_names_each_planted_violation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = _load(
        tmp_path,
        monkeypatch,
        "planted_bad_api",
        GOOD_API
        + """
    def helper(x: int) -> int:
        return x + 1

    class Service:
        pass

    class LeakyApi(Protocol):
        def ask(self) -> int:
            return 42

    registry = Service()
    shortcut = helper
    print("side effect")
""",
    )
    problems = "\n".join(api_problems(bad))
    assert "function helper()" in problems
    assert "class Service is neither" in problems
    assert "Protocol LeakyApi has methods with a body: ask" in problems
    assert "registry is neither a constant nor a type" in problems
    assert "shortcut is neither a constant nor a type" in problems
    assert "a Expr statement runs code" in problems
    assert len(api_problems(bad)) == 6


def test_event_checker_names_each_planted_violation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = _load(
        tmp_path,
        monkeypatch,
        "planted_events",
        """
        from __future__ import annotations
        import uuid
        from datetime import datetime
        from typing import Any, ClassVar
        import msgspec
        from hub.kernel.events import IntegrationEvent

        class Document(msgspec.Struct):
            id: uuid.UUID

        class Fine(IntegrationEvent, frozen=True):
            event_type: ClassVar[str] = "content.fine"
            ids: list[uuid.UUID]
            counts: dict[str, int]
            at: datetime | None

        class Leaky(IntegrationEvent, frozen=True):
            event_type: ClassVar[str] = "identity.leaky"
            document: Document
            documents: list[Document]
            anything: Any
        """,
    )
    events = {e.__name__: e for e in events_of(module)}
    assert set(events) == {"Fine", "Leaky"}
    assert event_problems(events["Fine"], "content") == []
    problems = "\n".join(event_problems(events["Leaky"], "content"))
    assert "event_type 'identity.leaky' is not content.*" in problems
    assert "Leaky.document is not primitive" in problems
    assert "Leaky.documents is not primitive" in problems
    assert "Leaky.anything is not primitive" in problems


def test_layout_checker_names_missing_and_extra_modules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "planted_ctx"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "api.py").write_text(
        "from typing import Protocol\nclass Api(Protocol):\n    def f(self) -> int: ...\n"
    )
    (package / "helpers.py").write_text("")
    (package / "bootstrap.py").write_text(
        textwrap.dedent(
            """
            from sqlalchemy import MetaData
            from hub.kernel.contexts import ContextModule
            from hub.kernel.jobs import job

            @job("planted.tick")
            async def tick(ctx: object) -> None: ...

            def build() -> ContextModule:
                return ContextModule("planted_ctx", MetaData(schema="planted_ctx"), jobs=[tick])
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    problems = layout_problems("planted_ctx")
    assert "planted_ctx.helpers is outside the shape" in problems
    for missing in ("models", "services", "repositories", "domain", "tasks", "facade"):
        assert f"planted_ctx.{missing} is missing" in problems
    assert "planted_ctx.controllers is missing" not in problems  # it has no routes
    assert len(problems) == 7


def test_module_checker_names_wrong_names_schemas_and_permissions() -> None:
    metadata = MetaData(schema="contnet")
    outbox_table(metadata)
    inbox_table(metadata)
    built = ContextModule(
        "content", metadata, permissions=[("identity.documents.read", "a foreign key")]
    )
    problems = module_problems(built, "content")
    assert "metadata schema 'contnet', context is 'content'" in problems
    assert "table contnet.outbox is outside schema 'content'" in problems
    assert "no content.outbox table (the kit's outbox/inbox)" in problems
    assert "permission 'identity.documents.read' is not content.*" in problems
    assert module_problems(built, "communication")[0] == (
        "context named 'content', package is 'communication'"
    )
    assert module_problems(object(), "content") == ["build() returned object, not a ContextModule"]


class Stray(Controller):
    path = "/stray"

    @post(guards=[permission("content.documents.wirte")], sync_to_thread=False)
    def stray(self) -> None:
        return None


@job("content.stray")
async def stray_job(ctx: object) -> None:
    return None


class Happened(IntegrationEvent, frozen=True):
    event_type: typing.ClassVar[str] = "content.stray_happened"
    thing_id: uuid.UUID


async def stray_handler(event: Happened, uow: object) -> None:
    return None


def test_placement_checker_names_misplaced_code_and_undeclared_permissions() -> None:
    metadata = MetaData(schema="content")
    built = ContextModule(
        "content",
        metadata,
        route_handlers=[Stray],
        permissions=[("content.documents.write", "Write documents")],
        jobs=[stray_job],
        subscriptions=[Subscription(Happened, stray_handler, name="content.on_stray")],
    )
    problems = placement_problems(built, "hub.content")
    here = __name__
    assert problems == [
        f"route Stray.stray lives in {here}, not hub.content.controllers",
        "route Stray.stray needs 'content.documents.wirte', which content does not declare",
        f"content.on_stray lives in {here}, not hub.content.handlers",
        f"content.stray lives in {here}, not hub.content.tasks",
    ]
