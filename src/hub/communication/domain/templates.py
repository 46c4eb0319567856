"""Notification templates: what a template is, how it is checked when saved, and how it
is rendered — in a Jinja2 sandbox, because organisations write them.

A template has, per channel (``email``: subject, text, html; ``in_app``: title, body,
actionUrl; ``chat``: text) and per locale, one source string per part, plus the list of
variables it may use and sample values for them. Saving checks, before anything is
stored:

* every part parses, and uses only declared variables (``StrictUndefined`` would catch a
  typo only on the branch a sample happens to take; the static check sees them all);
* no part reaches for internals: attribute or item names starting with ``_``
  (``''.__class__.__mro__``), the ``**`` operator, includes/imports/extends, and no
  globals at all (``cycler``, ``range``, ``lipsum``… are not defined, so
  ``cycler.__init__.__globals__`` and ``range(10**9)`` are undeclared names);
* every part renders with the sample values (the sandbox still guards at run time:
  unsafe attributes, huge repetitions).

A refusal is a 422 naming the field (``channels.email.en.subject``). HTML parts are
autoescaped, the others are plain text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, meta, nodes
from jinja2.exceptions import SecurityError, TemplateError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment

from hub.communication.domain.categories import CATEGORIES, Known
from hub.kernel.errors import FieldError, Invalid
from hub.kernel.problems import field_invalid

KEY_PATTERN = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*){0,5}$"
LOCALE_PATTERN = r"^[a-z]{2,3}(-[A-Z]{2})?$"
VARIABLE_PATTERN = r"^[A-Za-z][A-Za-z0-9_]{0,63}$"
_KEY = re.compile(KEY_PATTERN)
_LOCALE = re.compile(LOCALE_PATTERN)
_VARIABLE = re.compile(VARIABLE_PATTERN)
MAX_KEY_LENGTH = 100
MAX_PART_LENGTH = 20_000
MAX_RENDERED_LENGTH = 100_000
MAX_LOCALES = 30
MAX_VARIABLES = 50
#: The locale every fallback ends on.
FALLBACK_LOCALE = "en"

#: The parts of each channel, and which of them are required.
PARTS: dict[str, tuple[str, ...]] = {
    "email": ("subject", "text", "html"),
    "in_app": ("title", "body", "actionUrl"),
    "chat": ("text",),
}
REQUIRED: dict[str, tuple[str, ...]] = {
    "email": ("subject", "text"),
    "in_app": ("title",),
    "chat": ("text",),
}
#: Parts rendered with HTML autoescaping.
HTML_PARTS = frozenset({("email", "html")})

#: channel -> locale -> part -> source
Channels = dict[str, dict[str, dict[str, str]]]


class _Sandbox(SandboxedEnvironment):
    """The sandbox with no globals, no ``_`` names and no runaway repetition.

    ``*`` and ``**`` are intercepted, which also keeps Jinja's optimiser from folding
    ``'a' * 10**9`` at compile time (it never folds an intercepted operator)."""

    intercepted_binops = frozenset({"*", "**"})

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        return not attr.startswith("_") and super().is_safe_attribute(obj, attr, value)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            raise SecurityError("the ** operator is not allowed in templates")
        sized = (str, list, tuple)
        if isinstance(left, sized) or isinstance(right, sized):
            seq, times = (left, right) if isinstance(left, sized) else (right, left)
            if isinstance(times, int) and len(seq) * times > MAX_RENDERED_LENGTH:
                raise SecurityError("the repetition is too large")
        return super().call_binop(context, operator, left, right)


def _environment(*, html: bool) -> _Sandbox:
    env = _Sandbox(undefined=StrictUndefined, autoescape=html, keep_trailing_newline=False)
    env.globals.clear()
    return env


_TEXT = _environment(html=False)
_HTML = _environment(html=True)


def _env(channel: str, part: str) -> _Sandbox:
    return _HTML if (channel, part) in HTML_PARTS else _TEXT


@dataclass(frozen=True)
class TemplateDraft:
    """A template as saved: checked by :func:`check_draft`."""

    category: str
    variables: tuple[str, ...]
    sample: dict[str, Any]
    channels: Channels
    description: str = ""


@dataclass(frozen=True)
class Rendered:
    """One channel's parts rendered for one locale."""

    channel: str
    locale: str
    parts: dict[str, str] = field(default_factory=dict)


def check_key(key: str, *, source: str = "body", name: str = "key") -> str:
    if len(key) > MAX_KEY_LENGTH or not _KEY.match(key):
        raise field_invalid(
            name,
            "a template key is lower-case words joined by dots (document.shared)",
            source=source,
        )
    return key


def check_locale(locale: str, name: str) -> str:
    if not _LOCALE.match(locale):
        raise field_invalid(name, "a locale looks like en or pt-BR")
    return locale


def check_category(category: str, name: str = "category", known: Known = CATEGORIES) -> str:
    if category not in known:
        raise field_invalid(
            name,
            f"unknown category; one of: {', '.join(sorted(known))}",
            code="unknown_category",
        )
    return category


def check_draft(draft: TemplateDraft, known: Known = CATEGORIES) -> TemplateDraft:
    """Refuse (422 naming the field) a template that is malformed, unsafe, uses a name it
    does not declare, or fails to render with its sample; return it otherwise. Its
    category is one of ``known`` (the platform's and the organisation's own)."""
    check_category(draft.category, known=known)
    if len(draft.variables) > MAX_VARIABLES:
        raise field_invalid("variables", f"at most {MAX_VARIABLES} variables")
    for i, name in enumerate(draft.variables):
        if not _VARIABLE.match(name):
            raise field_invalid(f"variables[{i}]", "a variable is a name: letters, digits, _")
    if len(set(draft.variables)) != len(draft.variables):
        raise field_invalid("variables", "a variable is declared twice")
    for name in draft.sample:
        if name not in draft.variables:
            raise field_invalid(f"sample.{name}", "a sample value for an undeclared variable")
    if not draft.channels:
        raise field_invalid("channels", "a template needs at least one channel")
    declared = set(draft.variables)
    sample = sample_values(draft.variables, draft.sample)
    for channel, locales in draft.channels.items():
        where = f"channels.{channel}"
        if channel not in PARTS:
            raise field_invalid(where, f"unknown channel; one of: {', '.join(PARTS)}")
        if not locales:
            raise field_invalid(where, "a channel needs at least one locale")
        if len(locales) > MAX_LOCALES:
            raise field_invalid(where, f"at most {MAX_LOCALES} locales")
        for locale, parts in locales.items():
            check_locale(locale, f"{where}.{locale}")
            for part in REQUIRED[channel]:
                if not parts.get(part, "").strip():
                    raise field_invalid(f"{where}.{locale}.{part}", "this part is required")
            for part, source in parts.items():
                name = f"{where}.{locale}.{part}"
                if part not in PARTS[channel]:
                    raise field_invalid(
                        name, f"unknown part; {channel} has {', '.join(PARTS[channel])}"
                    )
                if len(source) > MAX_PART_LENGTH:
                    raise field_invalid(name, f"at most {MAX_PART_LENGTH} characters")
                check_source(source, declared, channel, part, name)
                render_part(source, sample, channel, part, name)
    return draft


def sample_values(variables: Iterable[str], sample: Mapping[str, Any]) -> dict[str, Any]:
    """The sample data a template is checked and previewed with: its own sample, and a
    placeholder for each variable it gave none."""
    return {name: sample.get(name, f"[{name}]") for name in variables}


def check_source(source: str, declared: set[str], channel: str, part: str, name: str) -> None:
    """The static half of the check (all branches, not only the one a sample takes)."""
    env = _env(channel, part)
    try:
        ast = env.parse(source)
    except TemplateSyntaxError as exc:
        raise field_invalid(
            name,
            f"not a valid template: {exc.message} (line {exc.lineno})",
            code="template_invalid",
        ) from None
    for node in ast.find_all((nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport)):
        raise _unsafe(name, f"'{type(node).__name__.lower()}' is not allowed in a template")
    for _pow in ast.find_all(nodes.Pow):
        raise _unsafe(name, "the ** operator is not allowed in a template")
    for attr in ast.find_all(nodes.Getattr):
        if attr.attr.startswith("_"):
            raise _unsafe(name, f"the attribute {attr.attr!r} is not allowed (no _ names)")
    for item in ast.find_all(nodes.Getitem):
        arg = item.arg
        if (
            isinstance(arg, nodes.Const)
            and isinstance(arg.value, str)
            and arg.value.startswith("_")
        ):
            raise _unsafe(name, f"the item {arg.value!r} is not allowed (no _ names)")
    for used in ast.find_all(nodes.Filter):
        if used.name == "attr":
            raise _unsafe(name, "the attr filter is not allowed; use dotted names")
    undeclared = sorted(meta.find_undeclared_variables(ast) - declared)
    if undeclared:
        raise field_invalid(
            name,
            f"uses undeclared variables: {', '.join(undeclared)}",
            code="template_undeclared_variable",
        )


def _unsafe(name: str, message: str) -> Invalid:
    return field_invalid(name, message, code="template_unsafe")


def render_part(source: str, values: Mapping[str, Any], channel: str, part: str, name: str) -> str:
    """One part rendered in the sandbox; any failure is a 422 naming the part."""
    try:
        out = _env(channel, part).from_string(source).render(dict(values))
    except SecurityError as exc:
        raise _unsafe(name, f"refused by the sandbox: {exc}") from None
    except UndefinedError as exc:
        raise field_invalid(
            name, f"does not render: {exc.message}", code="template_render_failed"
        ) from None
    except (TemplateError, ArithmeticError, TypeError, ValueError, LookupError) as exc:
        raise field_invalid(
            name, f"does not render: {type(exc).__name__}: {exc}", code="template_render_failed"
        ) from None
    if len(out) > MAX_RENDERED_LENGTH:
        raise _unsafe(name, f"renders to more than {MAX_RENDERED_LENGTH} characters")
    return out


def pick_locale(available: Iterable[str], wanted: Iterable[str | None]) -> str:
    """The first of ``wanted`` (user's, organisation's, ``en``) the channel has; a
    language-only match (``de`` for ``de-AT``) counts; else the first available."""
    have = sorted(available)
    for locale in [*wanted, FALLBACK_LOCALE]:
        if not locale:
            continue
        if locale in have:
            return locale
        base = locale.split("-")[0]
        if base in have:
            return base
    return have[0]


def render_channel(
    channels: Channels, channel: str, wanted: Iterable[str | None], values: Mapping[str, Any]
) -> Rendered | None:
    """The channel's parts in the best locale (None: the template has no such channel)."""
    locales = channels.get(channel)
    if not locales:
        return None
    locale = pick_locale(locales, wanted)
    parts = {
        part: render_part(source, values, channel, part, f"channels.{channel}.{locale}.{part}")
        for part, source in locales[locale].items()
    }
    return Rendered(channel=channel, locale=locale, parts=parts)


def check_payload(variables: Iterable[str], payload: Mapping[str, Any]) -> dict[str, Any]:
    """A payload for sending: every declared variable present (422 naming the missing
    ones under ``payload``); keys the template does not use are dropped."""
    wanted = list(variables)
    missing = [name for name in wanted if name not in payload]
    if missing:
        raise Invalid(
            "The payload lacks variables the template uses.",
            code="payload_incomplete",
            errors=[
                FieldError(
                    field=f"payload.{name}", message="required by the template", source="body"
                )
                for name in missing
            ],
        )
    return {name: payload[name] for name in wanted}


def check_renders(channels: Channels, values: Mapping[str, Any]) -> None:
    """Every part of every locale renders with ``values`` (at send time, so a payload of
    the wrong shape is refused before anything is queued)."""
    for channel, locales in channels.items():
        for locale, parts in locales.items():
            for part, source in parts.items():
                render_part(
                    source, values, channel, part, f"payload (channels.{channel}.{locale}.{part})"
                )
