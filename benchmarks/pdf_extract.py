"""PDF extraction benchmark: pypdfium2 vs pypdf, raw and through ingest/pdf.py's cleaning.

    python -m benchmarks.pdf_extract [--pages 60] [--repeat 3] [--json FILE]

Quality is measured on tests/data/pdf/*.pdf against the source text written beside them
(`<name>.json`, made by tests/data/make_pdfs.py), on the pages that have a text layer (the scanned
page goes through Tesseract whichever library reads the rest; its similarity is printed apart):

- similarity: difflib character ratio of the extracted page text to the source page text
  (whitespace squashed), averaged over pages weighted by source length; 1.0 = identical,
  includes reading order (two columns) and everything leaked or lost;
- header/footer leakage: running-header lines ("Security Review 2024 | ...") plus bare
  page-number lines left in the text;
- broken hyphens: words split at a line end and not joined ("coun-terterrorism",
  "coun- terterrorism", a hyphen mark) whose joined form is in the source.

Speed: pages/s extracting (no OCR) a synthetic `--pages`-page PDF of the same text pages, best of
`--repeat` runs, one process, one thread.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ingest import pdf

ROOT = Path(__file__).resolve().parents[1]
PDFS = ROOT / "tests" / "data" / "pdf"
HEADER = re.compile(r"Security Review 2024 \|")


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


# --- the four extractors: bytes -> page texts (None for a page without text layer) -------------
def pdfium_raw(data: bytes) -> list[str]:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(data)
    try:
        return [doc[i].get_textpage().get_text_range() for i in range(len(doc))]
    finally:
        doc.close()


def pypdf_raw(data: bytes) -> list[str]:
    import io

    from pypdf import PdfReader

    return [p.extract_text() or "" for p in PdfReader(io.BytesIO(data)).pages]


def pdfium_clean(data: bytes) -> list[str]:
    return [p.text for p in pdf.clean(pdf.pages_pdfium(data, ocr=False))]


def pypdf_clean(data: bytes) -> list[str]:
    return [p.text for p in pdf.clean(pdf.pages_pypdf(data))]


EXTRACTORS: dict[str, Callable[[bytes], list[str]]] = {
    "pypdfium2 + cleaning (ours)": pdfium_clean,
    "pypdf + cleaning": pypdf_clean,
    "pypdfium2 raw": pdfium_raw,
    "pypdf raw": pypdf_raw,
}


# --- metrics ---------------------------------------------------------------------------------
def leakage(text: str, labels: list[str]) -> int:
    n = len(HEADER.findall(text))
    for line in text.splitlines():
        if line.strip() and line.strip().lower() in {lb.lower() for lb in labels}:
            n += 1
    return n


def broken_hyphens(text: str, source: str) -> int:
    words = set(re.findall(r"[a-z]+", source.lower()))
    src_hyph = set(re.findall(r"[a-z]+-[a-z]+", source.lower()))
    n = 0
    for head, tail in re.findall(r"([A-Za-z]+)(?:[-\u00ad]\s*|[\x02\ufffe]\s*)([A-Za-z]+)", text):
        joined, hyph = (head + tail).lower(), f"{head}-{tail}".lower()
        if joined in words and hyph not in src_hyph:
            n += 1
    return n


def quality(extract: Callable[[bytes], list[str]]) -> dict[str, float]:
    sims, weights, leaks, hyphens, pages = [], [], 0, 0, 0
    for spec in sorted(PDFS.glob("*.json")):
        source = json.loads(spec.read_text(encoding="utf-8"))["pages"]
        got = extract(spec.with_suffix(".pdf").read_bytes())
        labels = [p["label"] for p in source]
        for src, text in zip(source, got):
            if src["kind"] == "scan":
                continue
            want = _squash(src["text"])
            sims.append(difflib.SequenceMatcher(None, _squash(text), want, autojunk=False).ratio())
            weights.append(len(want))
            leaks += leakage(text, labels)
            hyphens += broken_hyphens(text, src["text"])
            pages += 1
    return {
        "pages": pages,
        "similarity": round(sum(s * w for s, w in zip(sims, weights)) / sum(weights), 4),
        "min_page_similarity": round(min(sims), 4),
        "header_footer_leaks": leaks,
        "broken_hyphens": hyphens,
    }


def speed_pdf(path: Path, n_pages: int) -> None:
    """A synthetic n-page PDF cycling through the report's text pages (same fonts, header/footer)."""
    sys.path.insert(0, str(ROOT / "tests" / "data"))
    import make_pdfs as mk
    from reportlab.pdfgen.canvas import Canvas

    text_pages = [p for p in mk.REPORT if p[1] != "scan"]
    c = Canvas(str(path), pagesize=mk.A4, invariant=1)
    for i in range(n_pages):
        label, kind, paras = text_pages[i % len(text_pages)]
        mk._header_footer(c, str(i + 1))
        if kind == "columns":
            mk._columns_page(c, *paras)
        else:
            mk._text_page(c, paras)
        c.showPage()
    c.save()


def speed(extract: Callable[[bytes], list[str]], data: bytes, repeat: int) -> float:
    best = float("inf")
    n = 0
    for _ in range(repeat):
        t = time.perf_counter()
        n = len(extract(data))
        best = min(best, time.perf_counter() - t)
    return round(n / best, 1)


def ocr_similarity() -> dict[str, float] | None:
    if not pdf.tesseract_available():
        return None
    out = {}
    for spec in sorted(PDFS.glob("*.json")):
        source = json.loads(spec.read_text(encoding="utf-8"))["pages"]
        t = time.perf_counter()
        pages = pdf.clean(pdf.pages_pdfium(spec.with_suffix(".pdf").read_bytes()))
        secs = time.perf_counter() - t
        if not any(src["kind"] == "scan" for src in source):
            continue
        for src, p in zip(source, pages):
            if src["kind"] == "scan":
                sim = difflib.SequenceMatcher(None, _squash(p.text), _squash(src["text"]), autojunk=False).ratio()
                out[f"{spec.stem} page {p.n}"] = round(sim, 4)
        out[f"{spec.stem} seconds (with OCR)"] = round(secs, 2)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.pdf_extract", description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=60, help="pages of the synthetic PDF timed for pages/s")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per extractor (best is reported)")
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = ap.parse_args(argv)
    results: dict[str, object] = {"extractors": {}}
    with tempfile.TemporaryDirectory(prefix="ct-pdfbench-") as tmp:
        big = Path(tmp) / "speed.pdf"
        speed_pdf(big, args.pages)
        data = big.read_bytes()
        for name, fn in EXTRACTORS.items():
            row = quality(fn)
            row["pages_per_s"] = speed(fn, data, args.repeat)
            results["extractors"][name] = row  # type: ignore[index]
    results["ocr"] = ocr_similarity()
    cols = ("similarity", "min_page_similarity", "header_footer_leaks", "broken_hyphens", "pages_per_s")
    print(f"| extractor | {' | '.join(cols)} |")
    print("|---|" + "---|" * len(cols))
    for name, row in results["extractors"].items():  # type: ignore[union-attr]
        print(f"| {name} | {' | '.join(str(row[c]) for c in cols)} |")
    n = next(iter(results["extractors"].values()))["pages"]  # type: ignore[union-attr]
    print(f"\nquality on {n} text-layer pages of tests/data/pdf; speed on a {args.pages}-page PDF, best of {args.repeat}")
    if results["ocr"] is None:
        print("OCR: tesseract not installed")
    else:
        for k, v in results["ocr"].items():  # type: ignore[union-attr]
            print(f"OCR {k}: {v}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
