"""Editing a PDF's pages (Paperless-ngx's rotate, delete, reorder, split and merge): which
page of which input goes where, and at what rotation.

Pure: the child process that opens the PDFs (``services.pdf_worker``) knows how many pages
each has and asks these functions for the plan, so every page number a client sent is
checked against the real document, once, before anything is written. A plan is a list of
:data:`Placed` pages; a refusal is a :class:`PagesInvalid` naming the request's field.

Page numbers are 1-based as people count them, and each operation of an edit reads them
as the pages stand after the operations before it (delete page 1, then page 1 is the old
page 2), like applying them one after another in a viewer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

#: Pages one result may have (an input past it is refused as too large).
MAX_PAGES = 2_000
#: Operations of one edit; parts of one split; documents of one merge.
MAX_OPERATIONS = 50
MAX_PARTS = 50
MAX_MERGED = 50
ROTATIONS = (90, 180, 270)


@dataclass(frozen=True)
class Placed:
    """One page of the result: page ``page`` (0-based) of input ``source``, turned
    clockwise by ``rotation`` more degrees than it was."""

    source: int
    page: int
    rotation: int = 0


class PagesInvalid(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _pages(numbers: Sequence[int], count: int, field: str) -> list[int]:
    """1-based page numbers, each within 1..count, as 0-based indexes (order kept,
    repeats folded)."""
    if not numbers:
        raise PagesInvalid(field, "Name at least one page.")
    wrong = [n for n in numbers if not 1 <= n <= count]
    if wrong:
        raise PagesInvalid(field, f"The document has {count} pages; no page {wrong[0]}.")
    return [n - 1 for n in dict.fromkeys(numbers)]


def edited(operations: Sequence[dict[str, Any]], count: int) -> list[Placed]:
    """The pages after ``operations`` (``rotate``, ``delete``, ``reorder``) applied in
    order to a document of ``count`` pages. A result without pages is refused: delete
    the document instead."""
    plan = [Placed(0, i) for i in range(count)]
    for i, op in enumerate(operations):
        field = f"operations[{i}]"
        kind = op["kind"]
        if kind == "rotate":
            chosen = set(_pages(op["pages"], len(plan), f"{field}.pages"))
            turn = int(op["degrees"])
            plan = [
                Placed(p.source, p.page, (p.rotation + turn) % 360) if n in chosen else p
                for n, p in enumerate(plan)
            ]
        elif kind == "delete":
            gone = set(_pages(op["pages"], len(plan), f"{field}.pages"))
            if len(gone) == len(plan):
                raise PagesInvalid(f"{field}.pages", "An edit must leave at least one page.")
            plan = [p for n, p in enumerate(plan) if n not in gone]
        elif kind == "reorder":
            order = list(op["order"])
            if sorted(order) != list(range(1, len(plan) + 1)):
                raise PagesInvalid(
                    f"{field}.order",
                    f"Name each of the {len(plan)} pages exactly once, in the new order.",
                )
            plan = [plan[n - 1] for n in order]
        else:  # the schema admits only the three kinds
            raise PagesInvalid(f"{field}.kind", f"Unknown operation {kind!r}.")
    return plan


def split_parts(parts: Sequence[dict[str, int]], count: int) -> list[list[Placed]]:
    """Each part (``from``..``to``, inclusive, 1-based) of a ``count``-page document as a
    document of its own. Parts may not overlap (one page, one document) and need not
    cover every page."""
    out: list[list[Placed]] = []
    taken: set[int] = set()
    for i, part in enumerate(parts):
        field = f"parts[{i}]"
        first, last = int(part["from"]), int(part["to"])
        if first > last:
            raise PagesInvalid(f"{field}.to", "Must not be before from.")
        if last > count:
            raise PagesInvalid(f"{field}.to", f"The document has {count} pages.")
        pages = set(range(first - 1, last))
        if pages & taken:
            raise PagesInvalid(field, "Parts must not overlap.")
        taken |= pages
        out.append([Placed(0, n) for n in range(first - 1, last)])
    return out


def merged(counts: Sequence[int]) -> list[Placed]:
    """Every page of every input, inputs in the order given."""
    total = sum(counts)
    if total > MAX_PAGES:
        raise PagesInvalid(
            "documentIds", f"The result would have {total} pages (at most {MAX_PAGES})."
        )
    return [Placed(source, page) for source, count in enumerate(counts) for page in range(count)]


def part_title(title: str, part: dict[str, int], *, most: int) -> str:
    """A split part's title: the document's, then its pages ("Contract (pages 3-5)")."""
    first, last = int(part["from"]), int(part["to"])
    pages = f"page {first}" if first == last else f"pages {first}-{last}"
    suffix = f" ({pages})"
    return title[: most - len(suffix)] + suffix
