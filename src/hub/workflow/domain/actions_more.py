"""Validation of the actions that reach beyond the instance: the subject document's type
(``setType``), one of its custom fields (``setField``), who may reach it (``setAccess``),
and another workflow started on the same subject (``startWorkflow``).

Wire shapes::

    {"kind": "setType", "documentType": "Invoice"}               # a type's name or id
    {"kind": "setField", "field": "dueOn", "value": "2026-05-01"}  # or "expression": CEL
    {"kind": "setAccess", "restricted": true,
     "grant": {"roles": ["committee"], "userIds": [...], "starter": true,
               "access": "view"},
     "revoke": {"roles": [...], "userIds": [...], "starter": true},
     "documents": {"field": "reference", "documentType": "Offre"}}   # optional, below
    {"kind": "startWorkflow", "workflowKey": "archive",
     "variables": {"amount": "vars.amount"}}                     # CEL per variable

``setAccess`` acts on the subject document, or with ``documents`` on every document of the
organisation (outside the trash) whose custom field ``field`` holds the subject's value of
that field, of the type ``documentType`` when given: the offers of a consultation opened
when its deadline closes the bids.

Each check answers its problems as (path, message) pairs; ``definitions`` collects them
with every other problem of the definition.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any, Protocol

from hub.workflow.domain.expressions import ExpressionError, check

ACCESS_LEVELS = ("view", "edit")
_KEY = re.compile(r"^[a-z][a-z0-9_.-]{0,63}$")

ACTION_KEYS: dict[str, set[str]] = {
    "setType": {"kind", "documentType"},
    "setField": {"kind", "field", "value", "expression"},
    "setAccess": {"kind", "restricted", "grant", "revoke", "documents"},
    "startWorkflow": {"kind", "workflowKey", "variables"},
}
_GRANT_KEYS = {"roles", "userIds", "starter", "access"}
_REVOKE_KEYS = {"roles", "userIds", "starter"}
_DOCUMENTS_KEYS = {"field", "documentType"}
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")

Problems = list[tuple[str, str]]


class Names(Protocol):
    """What these checks read of the organisation (``definitions.Catalogue``)."""

    @property
    def document_types(self) -> frozenset[str]: ...
    @property
    def custom_fields(self) -> frozenset[str]: ...
    @property
    def workflows(self) -> frozenset[str]: ...

    def knows_role(self, role: str) -> bool: ...


def check_action(
    kind: str, here: str, item: Mapping[str, Any], names: Names, roots: frozenset[str]
) -> Problems:
    if kind == "setType":
        return _set_type(here, item, names)
    if kind == "setField":
        return _set_field(here, item, names, roots)
    if kind == "setAccess":
        return _set_access(here, item, names)
    return _start_workflow(here, item, names, roots)


def _set_type(here: str, item: Mapping[str, Any], names: Names) -> Problems:
    name = item.get("documentType")
    if not isinstance(name, str) or not name.strip():
        return [(f"{here}.documentType", "names a document type (its name or id)")]
    if name.strip().lower() not in names.document_types:
        return [(f"{here}.documentType", f"unknown document type {name!r}")]
    return []


def _expression(path: str, raw: Any, roots: frozenset[str]) -> Problems:
    if not isinstance(raw, str):
        return [(path, "must be a CEL expression (a string)")]
    try:
        check(raw, roots)
    except ExpressionError as exc:
        return [(path, str(exc))]
    return []


def _set_field(here: str, item: Mapping[str, Any], names: Names, roots: frozenset[str]) -> Problems:
    out: Problems = []
    key = item.get("field")
    if not isinstance(key, str) or not key:
        out.append((f"{here}.field", "names a custom field (its key)"))
    elif key not in names.custom_fields:
        out.append((f"{here}.field", f"unknown custom field {key!r}"))
    if ("value" in item) == ("expression" in item):
        out.append((here, "give exactly one of value (null removes the field) and expression"))
    elif "expression" in item:
        out += _expression(f"{here}.expression", item["expression"], roots)
    return out


def _people(path: str, raw: Any, names: Names, allowed: set[str], *, granting: bool) -> Problems:
    """Problems of a grant or revoke object."""
    if raw is None:
        return []
    if not isinstance(raw, dict):
        return [(path, "must be an object with roles, userIds and/or starter")]
    out: Problems = [(f"{path}.{k}", "unknown field") for k in sorted(set(raw) - allowed)]
    roles = raw.get("roles", [])
    users = raw.get("userIds", [])
    for field, values in (("roles", roles), ("userIds", users)):
        if not isinstance(values, list):
            out.append((f"{path}.{field}", "must be a list"))
    for j, role in enumerate(roles if isinstance(roles, list) else []):
        if not isinstance(role, str) or not names.knows_role(role):
            out.append((f"{path}.roles[{j}]", f"unknown role {role!r}"))
    for j, user in enumerate(users if isinstance(users, list) else []):
        try:
            uuid.UUID(str(user))
        except ValueError:
            out.append((f"{path}.userIds[{j}]", "must be a user id"))
    if "starter" in raw and not isinstance(raw["starter"], bool):
        out.append((f"{path}.starter", "must be true or false"))
    if granting and raw.get("access", "view") not in ACCESS_LEVELS:
        out.append((f"{path}.access", "view or edit"))
    if not roles and not users and raw.get("starter") is not True:
        out.append((path, "names nobody (roles, userIds or starter)"))
    return out


def _set_access(here: str, item: Mapping[str, Any], names: Names) -> Problems:
    out: Problems = []
    restricted = item.get("restricted")
    if restricted is not None and not isinstance(restricted, bool):
        out.append((f"{here}.restricted", "must be true or false"))
    out += _people(f"{here}.grant", item.get("grant"), names, _GRANT_KEYS, granting=True)
    out += _people(f"{here}.revoke", item.get("revoke"), names, _REVOKE_KEYS, granting=False)
    if restricted is None and "grant" not in item and "revoke" not in item:
        out.append((here, "changes nothing: give restricted, grant and/or revoke"))
    if "documents" in item:
        out += _documents(f"{here}.documents", item["documents"], names)
    return out


def _documents(path: str, raw: Any, names: Names) -> Problems:
    """Problems of a ``setAccess`` selector of documents sharing the subject's field."""
    if not isinstance(raw, dict):
        return [(path, "must be an object {field, documentType?}")]
    out: Problems = [(f"{path}.{k}", "unknown field") for k in sorted(set(raw) - _DOCUMENTS_KEYS)]
    key = raw.get("field")
    if not isinstance(key, str) or not key:
        out.append((f"{path}.field", "names a custom field (its key)"))
    elif key not in names.custom_fields:
        out.append((f"{path}.field", f"unknown custom field {key!r}"))
    if "documentType" in raw:
        out += _set_type(path, raw, names)
    return out


def _start_workflow(
    here: str, item: Mapping[str, Any], names: Names, roots: frozenset[str]
) -> Problems:
    out: Problems = []
    key = item.get("workflowKey")
    if not isinstance(key, str) or not _KEY.match(key):
        out.append((f"{here}.workflowKey", "must be a workflow key"))
    elif key not in names.workflows:
        out.append((f"{here}.workflowKey", f"no workflow {key!r} in this organisation"))
    return out + expression_map(f"{here}.variables", item.get("variables", {}), roots)


#: The most names one map of expressions may hold (``payloadExpressions``, ``variables``).
MAX_EXPRESSIONS = 20


def expression_map(path: str, raw: Any, roots: frozenset[str]) -> Problems:
    """A map of names to CEL expressions, each evaluated when the action runs:
    ``startWorkflow``'s ``variables`` and ``notify``'s ``payloadExpressions``."""
    if not isinstance(raw, dict):
        return [(path, "must map names to CEL expressions")]
    if len(raw) > MAX_EXPRESSIONS:
        return [(path, f"at most {MAX_EXPRESSIONS} expressions")]
    out: Problems = []
    for name, source in raw.items():
        if not _NAME.match(str(name)):
            out.append((f"{path}.{name}", "a name starts with a letter (letters, digits, _ . -)"))
        out += _expression(f"{path}.{name}", source, roots)
    return out
