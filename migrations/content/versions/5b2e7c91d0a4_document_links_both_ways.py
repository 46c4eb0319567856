"""document links both ways: a ``document`` field's value becomes a list of ids, kept on
both documents

Data only (no schema change). Before, a ``document`` custom field held one document id
as a string, written on one side only. Now it holds a list, and the linked document
lists the linking one under the same key. For each organisation's ``document`` fields
this rewrites every value as a list (duplicates folded), drops ids that name no document
of the organisation or the document itself (a deleted document's id stayed behind), and
adds each missing reverse link. A reverse side may end up above the 50 links a write
accepts (many documents linked one); it stays readable, and a write of it must bring it
back under the limit.

Downgrade keeps the first id of each list as the single value (reverse links the
upgrade added stay, as links of their own: the old form cannot tell them apart).

Revision ID: 5b2e7c91d0a4
Revises: d352f3a13e60
Create Date: 2026-11-30 03:00:00.000000
"""

import json
import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "5b2e7c91d0a4"
down_revision: str | None = "d352f3a13e60"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _fields_of(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return dict(value)
    return dict(json.loads(value)) if value else {}


def _ids(value: Any) -> list[str]:
    items = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    out: dict[str, None] = {}
    for item in items:
        try:
            out[str(uuid.UUID(str(item)))] = None
        except ValueError:
            continue
    return list(out)


def _document_keys(conn: sa.Connection) -> dict[Any, list[str]]:
    rows = conn.execute(
        sa.text("SELECT organisation_id, key FROM content.custom_fields WHERE type = 'document'")
    )
    keys: dict[Any, list[str]] = defaultdict(list)
    for organisation_id, key in rows:
        keys[organisation_id].append(key)
    return keys


def _documents(conn: sa.Connection, organisation_id: Any) -> dict[str, dict[str, Any]]:
    rows = conn.execute(
        sa.text(
            "SELECT id, custom_fields FROM content.documents WHERE organisation_id = :org"
            " ORDER BY id"  # reverse links are appended in id order: the same on every run
        ),
        {"org": organisation_id},
    )
    return {str(row[0]): _fields_of(row[1]) for row in rows}


def _save(conn: sa.Connection, changed: dict[str, dict[str, Any]]) -> None:
    for document_id, fields in sorted(changed.items()):
        conn.execute(
            sa.text(
                "UPDATE content.documents SET custom_fields = CAST(:f AS jsonb) WHERE id = :id"
            ),
            {"f": json.dumps(fields), "id": uuid.UUID(document_id)},
        )


def upgrade() -> None:
    conn = op.get_bind()
    for organisation_id, keys in _document_keys(conn).items():
        documents = _documents(conn, organisation_id)
        before = {i: dict(f) for i, f in documents.items()}
        links: dict[tuple[str, str], list[str]] = {}
        for document_id, fields in documents.items():
            for key in keys:
                if key in fields:
                    links[(document_id, key)] = [
                        i for i in _ids(fields[key]) if i in documents and i != document_id
                    ]
        for (document_id, key), targets in list(links.items()):
            for target in targets:
                mirror = links.setdefault((target, key), [])
                if document_id not in mirror:
                    mirror.append(document_id)
        for (document_id, key), targets in links.items():
            if targets:
                documents[document_id][key] = targets
            else:
                documents[document_id].pop(key, None)
        _save(conn, {i: f for i, f in documents.items() if f != before[i]})


def downgrade() -> None:
    conn = op.get_bind()
    for organisation_id, keys in _document_keys(conn).items():
        changed: dict[str, dict[str, Any]] = {}
        for document_id, fields in _documents(conn, organisation_id).items():
            new = dict(fields)
            for key in keys:
                if isinstance(new.get(key), list):
                    if new[key]:
                        new[key] = new[key][0]
                    else:
                        new.pop(key)
            if new != fields:
                changed[document_id] = new
        _save(conn, changed)
