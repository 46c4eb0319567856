"""What barcodes on a new scan say (Paperless-ngx's ASN and tag barcodes): a barcode
``<ASN prefix><digits>`` (``ASN00042``) is the document's archive serial number, a
barcode ``<tag prefix><name>`` (``TAG:Invoices``) one of its tags. Prefixes compare
case-insensitively; anything else on the page (a product's EAN, a QR code with a link)
says nothing."""

from __future__ import annotations

from hub.content.domain.documents import MAX_ASN, MAX_TAG_NAME, MAX_TAGS, clean_text
from hub.content.domain.extraction import MAX_BARCODE_VALUE, MAX_BARCODES

__all__ = ["MAX_BARCODES", "MAX_BARCODE_VALUE", "asn_of", "tags_of"]


def asn_of(values: list[str], prefix: str) -> int | None:
    """The first ASN barcode's number (1 to ``MAX_ASN``); None without one."""
    for value in values:
        text = value.strip()
        if text[: len(prefix)].casefold() != prefix.casefold():
            continue
        digits = text[len(prefix) :].strip()
        if digits.isascii() and digits.isdigit() and 1 <= int(digits) <= MAX_ASN:
            return int(digits)
    return None


def tags_of(values: list[str], prefix: str) -> tuple[str, ...]:
    """The tag names of the tag barcodes, in order, each once."""
    names: dict[str, str] = {}
    for value in values:
        text = value.strip()
        if text[: len(prefix)].casefold() != prefix.casefold():
            continue
        name = "".join(c for c in clean_text(text[len(prefix) :]) if c.isprintable())
        if name and len(name) <= MAX_TAG_NAME:
            names.setdefault(name.casefold(), name)
    return tuple(names.values())[:MAX_TAGS]
