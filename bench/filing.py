"""``python -m bench.filing``: what filing a new document by itself costs, in CPU.

Both run once per new document, inside its text extraction, so their cost adds to every
upload's background work (never to a request):

* **Matching rules** (``hub.content.domain.matching``): 20 and 200 rules — a quarter each
  ``any``, ``all``, ``literal`` and ``regex`` (RE2) — over a text of 10 KB, 200 KB and
  2 MB (the most text a version keeps). The lean reference is the least any such feature
  can do: one case-folded substring search per rule (``pattern in text``), no word
  boundaries, no phrases, no expressions. Also the classic catastrophic pattern
  ``(a+)+$`` over 30,000 ``a``'s and a ``!``: RE2 against Python's ``re`` (which is
  stopped after a few seconds' budget, not run to the end).
* **Barcodes** (``hub.content.services.extraction.barcodes``, in-process here): an A4
  page at 200 dpi rendered by PDFium and read by zxing-cpp, against rendering alone (what
  OCR of a scan pays anyway).

Timings are medians of repeated runs in this process (``time.process_time``: CPU, not
wall); the machine is shared, so quote the ratios.
"""

from __future__ import annotations

import argparse
import io
import random
import re
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from hub.content.domain.extraction import Bounds
from hub.content.domain.matching import Matching, matched
from hub.content.services.extraction import barcodes, ocr

WORDS = [
    "invoice",
    "rechnung",
    "facture",
    "amount",
    "due",
    "total",
    "payment",
    "order",
    "delivery",
    "patient",
    "referral",
    "blood",
    "test",
    "contract",
    "tender",
    "offer",
    "supplier",
    "clinic",
    "report",
    "result",
    "date",
    "number",
    "account",
]


def text_of(size: int, seed: int = 7) -> str:
    rng = random.Random(seed)
    out: list[str] = []
    length = 0
    while length < size:
        word = rng.choice(WORDS) if rng.random() < 0.2 else f"w{rng.randrange(100_000)}"
        out.append(word)
        length += len(word) + 1
    return " ".join(out)[:size]


def rules_of(count: int, seed: int = 11) -> list[tuple[int, Matching]]:
    rng = random.Random(seed)
    rules = []
    for i in range(count):
        kind = ("any", "all", "literal", "regex")[i % 4]
        a, b = rng.sample(WORDS, 2)
        pattern = {
            "any": f"{a} x{i}",
            "all": f"{a} {b}",
            "literal": f"{a} {b}",
            "regex": rf"{a}\s+w\d{{3}}{i % 10}",
        }[kind]
        rules.append((i, Matching(kind, pattern)))
    return rules


def cpu_ms(work: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.process_time()
        work()
        samples.append((time.process_time() - start) * 1000)
    return statistics.median(samples)


def lean(rules: list[tuple[int, Matching]], text: str) -> list[int]:
    folded = text.casefold()
    return [key for key, rule in rules if rule.pattern.casefold() in folded]


def matching(repeat: int) -> None:
    print("matching rules: CPU ms per document (median)")
    print(f"{'text':>8} {'rules':>6} {'hub':>9} {'lean':>9} {'ratio':>6}")
    for size in (10_000, 200_000, 2_000_000):
        text = text_of(size)
        for count in (20, 200):
            rules = rules_of(count)
            hub = cpu_ms(lambda rules=rules, text=text: matched(rules, text), repeat)
            ref = cpu_ms(lambda rules=rules, text=text: lean(rules, text), repeat)
            print(f"{size:>8} {count:>6} {hub:>9.2f} {ref:>9.2f} {hub / max(ref, 1e-3):>6.1f}")
    hostile = "a" * 30_000 + "!"
    test = Matching("regex", "(a+)+$")
    re2_ms = cpu_ms(lambda: matched([(0, test)], hostile), repeat)
    python_ms = _python_re_budget(hostile, budget_s=3.0)
    print(f"(a+)+$ over 30,000 a's: RE2 {re2_ms:.2f} ms; Python re {python_ms}")


def _python_re_budget(text: str, budget_s: float) -> str:
    """Python's backtracking engine on a prefix that grows until it passes the budget."""
    pattern = re.compile("(a+)+$")
    n = 16
    while True:
        start = time.process_time()
        pattern.search("a" * n + "!")
        spent = time.process_time() - start
        if spent > budget_s or n >= len(text):
            return f"{spent * 1000:.0f} ms for only {n} a's (doubling with each one more)"
        n += 2


def page_pdf(path: Path) -> None:
    import numpy as np
    import zxingcpp
    from PIL import Image

    page = Image.new("L", (1240, 1754), 255)
    code = zxingcpp.create_barcode("ASN00042", zxingcpp.BarcodeFormat.Code128)
    page.paste(Image.fromarray(np.asarray(code.to_image(scale=4))), (100, 100))
    buffer = io.BytesIO()
    page.save(buffer, "PDF", resolution=150)
    path.write_bytes(buffer.getvalue())


def barcode_reading(repeat: int) -> None:
    bounds = Bounds()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "scan.pdf"
        page_pdf(path)
        read = cpu_ms(lambda: barcodes.read(path, "pdf", 1, bounds), repeat)
        render = cpu_ms(lambda: list(ocr.rendered(path, 1, bounds)), repeat)
    print("barcodes: CPU ms per A4 page at 200 dpi (median)")
    print(f"  render + read {read:.1f}; render alone {render:.1f}; ratio {read / render:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    matching(args.repeat)
    barcode_reading(args.repeat)


if __name__ == "__main__":
    main()
