"""The pack format without a database: tags come parents first, exported names are pack
names, and a pack written out reads back as the same document."""

from __future__ import annotations

from pathlib import Path

from hub.content.api import TagSetting
from hub.packs.engine import export_name, parents_first
from hub.packs.files import read_pack, write_pack
from hub.packs.shipped import SHIPPED, pack_path


def test_tags_are_applied_parents_first_whatever_their_order() -> None:
    tags = [
        TagSetting(name="cardiology", parent="clinical"),
        TagSetting(name="paediatric cardiology", parent="Cardiology"),
        TagSetting(name="clinical"),
        TagSetting(name="orphan", parent="elsewhere"),  # validation reports it; kept in place
    ]
    order = [t.name for t in parents_first(tags)]
    assert (
        order.index("clinical") < order.index("cardiology") < order.index("paediatric cardiology")
    )
    assert set(order) == {t.name for t in tags}


def test_a_cycle_does_not_hang_the_ordering() -> None:
    tags = [TagSetting(name="a", parent="b"), TagSetting(name="b", parent="a")]
    assert {t.name for t in parents_first(tags)} == {"a", "b"}


def test_export_names_are_pack_names() -> None:
    assert export_name("Ville de Lyon") == "ville-de-lyon"
    assert export_name("Bâtiments Durables SARL") == "batiments-durables-sarl"
    assert export_name("2026 Cabinet") == "org-2026-cabinet"
    assert export_name("ÉÉÉ") == "eee"


def test_every_shipped_pack_survives_a_round_trip_through_its_files(tmp_path: Path) -> None:
    for name in SHIPPED:
        document, problems = read_pack(pack_path(name))
        assert problems == []
        assert document is not None
        write_pack(document, tmp_path / name)
        again, problems = read_pack(tmp_path / name)
        assert problems == []
        assert again == document


def test_the_medical_pack_audits_every_read_of_a_patient_record_and_nothing_else() -> None:
    document, _ = read_pack(pack_path("medical"))
    assert document is not None
    audited = [t.name for t in document.taxonomy.document_types if t.audit_reads]
    assert audited == ["Patient record"]


def test_audit_reads_must_be_a_boolean(tmp_path: Path) -> None:
    (tmp_path / "pack.yaml").write_text("format: 1\nname: p\nversion: 1.0.0\n")
    (tmp_path / "taxonomy.yaml").write_text(
        "documentTypes:\n  - name: Record\n    auditReads: sometimes\n"
    )
    _, problems = read_pack(tmp_path)
    assert [p.path for p in problems] == ["taxonomy.yaml: documentTypes[0].auditReads"]
