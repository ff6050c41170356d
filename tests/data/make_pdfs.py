"""Make the small paged PDFs in tests/data/pdf/ and the known source text beside them.

    python tests/data/make_pdfs.py          # rewrites tests/data/pdf/*.pdf and *.json

`security_report.pdf` (6 pages, labels i, ii, 1, 2, 3, 4) has what real policy reports have: a
running header ("Security Review 2024 | <label>") and a page-number footer on every page, words
hyphenated at line ends, real hyphenated compounds, a two-column page whose lines are written to
the content stream interleaved (left, right, left, ...), and a scanned page (an image, no text
layer). `notification.pdf` is one scanned page. `<name>.json` holds each page's body text as
written (no header/footer, hyphenation undone): the reference of the extraction benchmark
(`python -m benchmarks.pdf_extract`) and of the tests. Output is byte-stable (reportlab invariant mode).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

OUT = Path(__file__).parent / "pdf"
W, H = A4
MARGIN = 72
FONT, SIZE, LEADING = "Helvetica", 11, 15
HEADER = "Security Review 2024 | {label}"

# (label, kind, paragraphs). Facts are invented for tests; each page has its own.
REPORT: list[tuple[str, str, list[str]]] = [
    ("i", "text", [
        "Preface",
        "This review was prepared by the research desk of the Institute for Policy Review in Islamabad. "
        "It covers militant violence, counter-terrorism operations and the implementation of the National "
        "Action Plan during the calendar year. The desk compiled its dataset from district police reports, "
        "provincial counterterrorism departments and daily newspapers published in four languages.",
    ]),
    ("ii", "text", [
        "Summary",
        "The country recorded 521 terrorist attacks in 2024, a rise of seventy percent over the previous year. "
        "Attacks killed 1,166 people and injured a further 1,417. The well-known pattern of violence concentrated "
        "in the northwestern borderlands persisted, while sectarian incidents declined considerably compared with "
        "earlier reporting periods.",
    ]),
    ("1", "text", [
        "Institutions",
        "The National Counter Terrorism Authority convened its board of governors only twice between 2013 and "
        "2023, which weakened coordination between federal and provincial counterterrorism departments. "
        "Parliamentary oversight committees recommended a permanent secretariat with independent budgetary "
        "authority and statutory reporting obligations.",
        "Intelligence sharing remained fragmented: provincial agencies maintained incompatible databases, and "
        "the joint directorate established under the action plan never became operational.",
    ]),
    ("2", "text", [
        "Provinces",
        "Khyber Pakhtunkhwa accounted for 295 attacks, more than half of the national total, followed by "
        "Balochistan with 171 attacks. Provincial governments announced compensation packages for victims, "
        "but disbursement remained administratively cumbersome and frequently delayed.",
        "Counter-terrorism courts in Peshawar decided 84 cases, and conviction rates improved after prosecutors "
        "received specialised training in handling electronic evidence.",
    ]),
    ("3", "columns", [
        "Madrassa registration advanced slowly. By December only 18,600 seminaries had completed registration "
        "with the education ministry, and inspectors reported that many curricula were never reviewed.",
        "Terror financing investigations intensified. The financial monitoring unit received 1,412 suspicious "
        "transaction reports linked to proscribed organisations, and regulators froze 212 accounts.",
    ]),
    ("4", "scan", [
        "The Punjab Counter Terrorism Department arrested 326 suspects in the first quarter of 2024.",
        "Most arrests followed intelligence-based operations in southern districts.",
    ]),
]

# One paragraph runs over the page break, its last word on page 1 hyphenated ("...-" | "...").
CONTINUED_INTRO = [
    "Action Plan review",
    "The federal cabinet approved a revised National Action Plan in 2021 after a year of consultations "
    "with provincial governments, the armed forces and civil society organisations.",
]
CONTINUED_RUN = (
    "Under the revised plan the National Counter Terrorism Authority became responsible for monitoring "
    "implementation across all provinces, and provincial apex committees were required to submit quarterly "
    "implementation reports to its secretariat in Islamabad, with independent verification by parliamentary "
    "committees and published summaries of progress against each of the fourteen points."
)
CONTINUED_END = ["Funding for the secretariat was doubled in the following budget."]

NOTIFICATION = [
    "Notification",
    "The Ministry of Interior has proscribed the organisation known as the Northern Front with immediate effect.",
]


def wrap(text: str, width: float, size: float = SIZE) -> list[tuple[str, bool]]:
    """Greedy line wrap; a long word that does not fit is split with a hyphen. (line, ends in a break hyphen)."""
    lines: list[tuple[str, bool]] = []
    line = ""
    words = text.split()
    i = 0
    while i < len(words):
        word = words[i]
        cand = f"{line} {word}".strip()
        if stringWidth(cand, FONT, size) <= width:
            line = cand
            i += 1
            continue
        if len(word) >= 9 and "-" not in word and word.isalpha():
            # hyphenate: the longest head (>= 4 letters, tail >= 4) that fits with its hyphen
            for cut in range(len(word) - 4, 3, -1):
                head = f"{line} {word[:cut]}-".strip()
                if stringWidth(head, FONT, size) <= width:
                    lines.append((head, True))
                    words[i] = word[cut:]
                    line = ""
                    break
            else:
                lines.append((line, False))
                line = ""
            continue
        lines.append((line, False))
        line = ""
    if line:
        lines.append((line, False))
    return lines


def _header_footer(c: Canvas, label: str) -> None:
    c.setFont(FONT, 9)
    c.drawString(MARGIN, H - 40, HEADER.format(label=label))
    c.drawCentredString(W / 2, 36, label)


def _text_page(c: Canvas, paragraphs: list[str]) -> None:
    y = H - MARGIN - 10
    for k, para in enumerate(paragraphs):
        bold = k == 0 and len(para) < 40
        c.setFont("Helvetica-Bold" if bold else FONT, SIZE)
        for line, _ in wrap(para, W - 2 * MARGIN):
            c.drawString(MARGIN, y, line)
            y -= LEADING
        y -= LEADING / 2


def _columns_page(c: Canvas, left: str, right: str) -> None:
    gutter = 24
    colw = (W - 2 * MARGIN - gutter) / 2
    ll, rl = wrap(left, colw), wrap(right, colw)
    y = H - MARGIN - 10
    c.setFont(FONT, SIZE)
    for i in range(max(len(ll), len(rl))):  # interleaved in the content stream: left, right, left, ...
        if i < len(ll):
            c.drawString(MARGIN, y, ll[i][0])
        if i < len(rl):
            c.drawString(MARGIN + colw + gutter, y, rl[i][0])
        y -= LEADING


def _scan_image(paragraphs: list[str]) -> Image.Image:
    """A 200 dpi 'scan' of the page body: text drawn into a bitmap, nothing else."""
    dpi = 200
    img = Image.new("L", (int(W / 72 * dpi), int(H / 72 * dpi)), 255)
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=34)
    x, y = int(MARGIN / 72 * dpi), int((MARGIN + 10) / 72 * dpi)
    for para in paragraphs:
        for line, _ in wrap(para, W - 2 * MARGIN):
            draw.text((x, y), line, fill=0, font=font)
            y += 48
        y += 24
    return img


def _scan_page(c: Canvas, paragraphs: list[str]) -> None:
    buf = io.BytesIO()
    _scan_image(paragraphs).save(buf, format="PNG")
    buf.seek(0)
    c.drawImage(ImageReader(buf), 0, 0, width=W, height=H)


def make_report(path: Path) -> list[dict[str, object]]:
    c = Canvas(str(path), pagesize=A4, invariant=1)
    c.setTitle("Security Review 2024")
    c.addPageLabel(0, "ROMAN_LOWER", 1)
    c.addPageLabel(2, "ARABIC", 1)
    pages = []
    for label, kind, paras in REPORT:
        if kind == "scan":
            _scan_page(c, paras)
        else:
            _header_footer(c, label)
            if kind == "columns":
                _columns_page(c, *paras)
            else:
                _text_page(c, paras)
        c.showPage()
        pages.append({"label": label, "kind": kind, "text": "\n\n".join(paras)})
    c.save()
    return pages


def make_notification(path: Path) -> list[dict[str, object]]:
    c = Canvas(str(path), pagesize=A4, invariant=1)
    c.setTitle("Proscription notification")
    _scan_page(c, NOTIFICATION)
    c.showPage()
    c.save()
    return [{"label": "1", "kind": "scan", "text": "\n\n".join(NOTIFICATION)}]


def _para_text(lines: list[tuple[str, bool]]) -> str:
    out = ""
    for line, hyph in lines:
        out += (line[:-1] if hyph else line + " ")
    return out.strip()


def make_continued(path: Path) -> list[dict[str, object]]:
    c = Canvas(str(path), pagesize=A4, invariant=1)
    c.setTitle("Action Plan review")
    run = wrap(CONTINUED_RUN, W - 2 * MARGIN)
    k = next((i for i, (_, hyph) in enumerate(run) if hyph and i >= 1), len(run) // 2)  # break after line k
    # page 1: intro at the top, the running paragraph's first lines at the bottom
    _header_footer(c, "1")
    _text_page(c, CONTINUED_INTRO)
    c.setFont(FONT, SIZE)
    y = MARGIN + 10 + LEADING * k
    for line, _ in run[: k + 1]:
        c.drawString(MARGIN, y, line)
        y -= LEADING
    c.showPage()
    _header_footer(c, "2")
    y = H - MARGIN - 10
    c.setFont(FONT, SIZE)
    for line, _ in run[k + 1 :]:
        c.drawString(MARGIN, y, line)
        y -= LEADING
    y -= LEADING / 2
    for para in CONTINUED_END:
        for line, _ in wrap(para, W - 2 * MARGIN):
            c.drawString(MARGIN, y, line)
            y -= LEADING
    c.showPage()
    c.save()
    first, rest = run[: k + 1], run[k + 1 :]
    return [
        {"label": "1", "kind": "text", "text": "\n\n".join([*CONTINUED_INTRO, _para_text(first)])},
        {"label": "2", "kind": "text", "text": "\n\n".join([_para_text(rest), *CONTINUED_END])},
    ]


def make_encrypted(path: Path) -> None:
    """A password-protected PDF (a broken file for the readers: tests/data/bad/)."""
    c = Canvas(str(path), pagesize=A4, invariant=1, encrypt="not-the-empty-password")
    _text_page(c, ["Restricted", "This file needs a password to open."])
    c.showPage()
    c.save()


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for name, make in (("security_report", make_report), ("notification", make_notification), ("continued", make_continued)):
        pages = make(OUT / f"{name}.pdf")
        (OUT / f"{name}.json").write_text(json.dumps({"pages": pages}, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {OUT / name}.pdf ({len(pages)} pages)")
    make_encrypted(OUT.parent / "bad" / "encrypted.pdf")
    print(f"wrote {OUT.parent / 'bad' / 'encrypted.pdf'}")


if __name__ == "__main__":
    main()
