"""Definitions written as YAML (or JSON, a subset of YAML) text.

``yaml.safe_load`` builds plain data only (no Python objects); anchors and aliases are
refused outright, so a few bytes of aliases cannot expand into gigabytes once the
definition is stored as JSON; values YAML types beyond JSON (timestamps) become text.
"""

from __future__ import annotations

from typing import Any

import msgspec
import yaml

MAX_TEXT = 256 * 1024


def parse_text(text: str) -> tuple[Any, str | None]:
    """The definition the text holds, or ``(None, why)``."""
    if len(text) > MAX_TEXT:
        return None, f"at most {MAX_TEXT} characters"
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                return None, "YAML anchors and aliases are not accepted"
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        return None, f"not valid YAML or JSON: {problem}{where}"
    return msgspec.to_builtins(data, str_keys=True), None
