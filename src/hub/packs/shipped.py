"""The packs that ship with the hub (package data beside this module)."""

from __future__ import annotations

from pathlib import Path

SHIPPED_ROOT = Path(__file__).resolve().parent
#: Name -> what it sets up.
SHIPPED = {
    "procurement": "public procurement portal (French vocabulary): consultations, sealed bids",
    "medical": "medical practice: patient records, appointment reminders, care pathways",
}


def pack_path(ref: str) -> Path:
    """A shipped pack's directory for its name, else ``ref`` as a path."""
    if ref in SHIPPED and not Path(ref).exists():
        return SHIPPED_ROOT / ref
    return Path(ref)
