"""A pack as a directory of YAML files: read strictly (every problem of every file, each
with its file and path), written back out by export.

YAML is read with the safe loader (plain data only); anchors and aliases are refused (a
few bytes of aliases could expand into gigabytes), and so is a file over 1 MiB.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, TypeVar

import msgspec
import yaml

from hub.communication.api import (
    CategorySetting,
    MessagingRuleSetting,
    MessagingSetting,
    NotificationDefaults,
    TemplateSetting,
    TopicSetting,
)
from hub.content.api import (
    CustomFieldSetting,
    DocumentTypeSetting,
    TagSetting,
    TaxonomySettings,
)
from hub.identity.api import RoleSetting
from hub.packs.format import (
    WORKFLOW_KEY_PATTERN,
    PackDocument,
    PackManifest,
    PackNotifications,
    PackProblem,
    PackSampleDocument,
    PackSamples,
)

MAX_FILE_BYTES = 1024 * 1024
MANIFEST = "pack.yaml"
#: Each optional file and the top-level keys it may hold.
SECTIONS: dict[str, frozenset[str]] = {
    "roles.yaml": frozenset({"roles"}),
    "taxonomy.yaml": frozenset({"tags", "documentTypes", "customFields"}),
    "notifications.yaml": frozenset({"categories", "defaults", "templates", "topics"}),
    "samples.yaml": frozenset({"documents"}),
    "messaging.yaml": frozenset({"rules"}),
}
WORKFLOWS = "workflows"
_WORKFLOW_KEY = re.compile(WORKFLOW_KEY_PATTERN)

T = TypeVar("T")


class PackFiles:
    """Collects problems while one directory is read."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.problems: list[PackProblem] = []

    def problem(self, where: str, message: str) -> None:
        self.problems.append(PackProblem(path=where, message=message))

    def load(self, name: str) -> Any:
        path = self.root / name
        try:
            raw = path.read_bytes()
        except OSError as exc:
            self.problem(name, f"cannot be read: {exc.strerror}")
            return None
        if len(raw) > MAX_FILE_BYTES:
            self.problem(name, f"larger than {MAX_FILE_BYTES} bytes")
            return None
        try:
            text = raw.decode("utf-8")
            for event in yaml.parse(text, Loader=yaml.SafeLoader):
                if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                    self.problem(name, "YAML anchors and aliases are not accepted")
                    return None
            data = yaml.safe_load(text)
        except UnicodeDecodeError:
            self.problem(name, "not UTF-8 text")
            return None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
            self.problem(name, f"not valid YAML: {getattr(exc, 'problem', None) or exc}{where}")
            return None
        # dates and times YAML would type become text, as JSON has them
        try:
            return msgspec.to_builtins(data, str_keys=True)
        except TypeError:
            self.problem(name, "a key is not text (YAML reads a bare on/off/yes/no as true/false)")
            return None

    def convert(self, where: str, raw: Any, kind: type[T]) -> T | None:
        try:
            return msgspec.convert(raw, kind, strict=True)
        except msgspec.ValidationError as exc:
            message = str(exc)
            at = re.search(r" - at `\$(.*)`$", message)
            if at:
                message, where = message[: at.start()], where + at.group(1)
            self.problem(where, message)
            return None

    def section(self, name: str) -> dict[str, Any]:
        """A file's top-level mapping, its unknown keys reported."""
        if not (self.root / name).exists():
            return {}
        raw = self.load(name)
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            self.problem(name, "must be a mapping")
            return {}
        for key in sorted(set(raw) - SECTIONS[name]):
            self.problem(
                f"{name}: {key}", f"unknown key; one of {', '.join(sorted(SECTIONS[name]))}"
            )
        return raw

    def items(self, name: str, raw: dict[str, Any], key: str, kind: type[T]) -> tuple[T, ...]:
        """Each entry of a list converted on its own, so every bad entry is reported."""
        entries = raw.get(key, [])
        if entries is None:
            return ()
        if not isinstance(entries, list):
            self.problem(f"{name}: {key}", "must be a list")
            return ()
        out = (self.convert(f"{name}: {key}[{i}]", e, kind) for i, e in enumerate(entries))
        return tuple(x for x in out if x is not None)


def read_pack(root: Path) -> tuple[PackDocument | None, list[PackProblem]]:
    """The pack a directory holds (its readable parts) and every problem found reading it.

    The document is None only when the manifest itself is unusable."""
    files = PackFiles(root)
    if not root.is_dir():
        files.problem(str(root), "not a directory")
        return None, files.problems
    for entry in sorted(root.iterdir()):
        known = entry.name in SECTIONS or entry.name == MANIFEST
        if entry.name == WORKFLOWS and entry.is_dir():
            continue
        if not known and not entry.name.startswith("."):
            files.problem(entry.name, "not a file of the pack format (a misspelt name?)")
    manifest = None
    if not (root / MANIFEST).exists():
        files.problem(MANIFEST, "missing: a pack needs a manifest (format, name, version)")
    else:
        manifest = files.convert(MANIFEST, files.load(MANIFEST), PackManifest)
    roles = files.section("roles.yaml")
    taxonomy = files.section("taxonomy.yaml")
    notifications = files.section("notifications.yaml")
    samples = files.section("samples.yaml")
    messaging = files.section("messaging.yaml")
    defaults = None
    if notifications.get("defaults") is not None:
        defaults = files.convert(
            "notifications.yaml: defaults", notifications["defaults"], NotificationDefaults
        )
    workflows: dict[str, dict[str, Any]] = {}
    folder = root / WORKFLOWS
    if folder.is_dir():
        for entry in sorted(folder.iterdir()):
            name = f"{WORKFLOWS}/{entry.name}"
            if entry.suffix not in (".yaml", ".yml") or not entry.is_file():
                files.problem(name, "a workflow is a .yaml file named after its key")
                continue
            if not _WORKFLOW_KEY.match(entry.stem):
                files.problem(
                    name, f"{entry.stem!r} is not a workflow key ({WORKFLOW_KEY_PATTERN})"
                )
                continue
            body = files.load(name)
            if not isinstance(body, dict):
                if body is not None:
                    files.problem(name, "must be a mapping (states, transitions, triggers)")
                continue
            workflows[entry.stem] = body
    if manifest is not None and manifest.format != 1:
        files.problem(f"{MANIFEST}: format", f"format {manifest.format} is not known (1 is)")
    document = PackDocument(
        pack=manifest or PackManifest(name="unreadable", version="0.0.0"),
        roles=files.items("roles.yaml", roles, "roles", RoleSetting),
        taxonomy=TaxonomySettings(
            tags=files.items("taxonomy.yaml", taxonomy, "tags", TagSetting),
            document_types=files.items(
                "taxonomy.yaml", taxonomy, "documentTypes", DocumentTypeSetting
            ),
            custom_fields=files.items(
                "taxonomy.yaml", taxonomy, "customFields", CustomFieldSetting
            ),
        ),
        notifications=PackNotifications(
            categories=files.items(
                "notifications.yaml", notifications, "categories", CategorySetting
            ),
            defaults=defaults,
            templates=files.items(
                "notifications.yaml", notifications, "templates", TemplateSetting
            ),
            topics=files.items("notifications.yaml", notifications, "topics", TopicSetting),
        ),
        messaging=(
            MessagingSetting(
                rules=files.items("messaging.yaml", messaging, "rules", MessagingRuleSetting)
            )
            if (root / "messaging.yaml").exists()
            else None
        ),
        workflows=workflows,
        samples=PackSamples(
            documents=files.items("samples.yaml", samples, "documents", PackSampleDocument)
        ),
    )
    return (document if manifest is not None else None), files.problems


def _yaml(data: Any) -> str:
    return str(
        yaml.safe_dump(msgspec.to_builtins(data), allow_unicode=True, sort_keys=False, width=100)
    )


def pack_files(document: PackDocument) -> dict[str, str]:
    """The files that spell out ``document`` (relative path -> YAML text)."""
    out = {MANIFEST: _yaml(document.pack)}
    if document.roles:
        out["roles.yaml"] = _yaml({"roles": document.roles})
    taxonomy = msgspec.to_builtins(document.taxonomy)
    if any(taxonomy.values()):
        out["taxonomy.yaml"] = _yaml(taxonomy)
    notifications = msgspec.to_builtins(document.notifications)
    if any(notifications.values()):
        out["notifications.yaml"] = _yaml(notifications)
    if document.messaging is not None:
        out["messaging.yaml"] = _yaml(document.messaging)
    for key, body in sorted(document.workflows.items()):
        out[f"{WORKFLOWS}/{key}.yaml"] = _yaml(body)
    if document.samples.documents:
        out["samples.yaml"] = _yaml(document.samples)
    return out


def write_pack(document: PackDocument, root: Path) -> list[str]:
    """Write the pack's files under ``root`` (created if needed); the paths written."""
    written = []
    for name, text in pack_files(document).items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(name)
    return written
