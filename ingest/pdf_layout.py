"""PDF layout: PDFium text rectangles -> lines in reading order, with paragraph starts.

- lines are ordered top to bottom; a two-column region (two stacks of lines side by side with a
  gutter no line crosses) is read left column first, then right;
- paragraphs are split where the gap between lines is clearly larger (1.3x) than the page's line
  pitch, unless the text plainly runs on; a bulleted line is a list item of its own;
- text drawn near-white on a page area with no contrast (white on white) is dropped: a reader
  never sees it, and it is where injected instructions hide.
Used by `ingest.pdf` (which opens the PDF, OCRs scanned pages and cleans the text).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

log = logging.getLogger(__name__)

_BULLETS = set("•▪◦‣●■□–")  # a line starting with one is a list item: its own paragraph


@dataclass
class Line:
    text: str
    top: float = 0.0  # PDF points from the bottom of the page (OCR/pypdf lines: synthetic)
    bottom: float = 0.0
    para_start: bool = False  # first line of a paragraph


# --- layout: PDFium text rectangles -> lines in reading order ----------------------------------
@dataclass
class _Seg:
    l: float
    b: float
    r: float
    t: float
    text: str


def _segments(textpage: object, page: object | None = None, name: str = "<pdf>") -> list[_Seg]:
    segs = []
    hidden = _HiddenText(textpage, page) if page is not None else None
    for i in range(textpage.count_rects()):  # type: ignore[attr-defined]
        l, b, r, t = textpage.get_rect(i)  # type: ignore[attr-defined]
        txt = textpage.get_text_bounded(l, b, r, t).replace("\r", " ").replace("\n", " ")  # type: ignore[attr-defined]
        if not txt.strip():
            continue
        if hidden is not None and hidden.invisible(l, b, r, t):
            log.info("%s: dropped invisible text (light on a light background): %.80r", name, txt.strip())
            continue
        segs.append(_Seg(l, b, r, t, txt))
    return segs


class _HiddenText:
    """Text a reader of the page cannot see: drawn in a near-white fill colour on a page area that
    renders with no contrast (white on white). Such text is where injected instructions hide; a
    person never reads it, so neither do we. Light text on a dark box stays (the box gives contrast).
    Invisible text *render mode* (the text layer of an OCR'd scan) is kept: it is the page's words."""

    LIGHT = 235  # each of r, g, b at least this (0-255) counts as near-white
    CONTRAST = 24  # grey levels between the darkest and lightest pixel of the box, below: unseen
    SCALE = 0.75

    def __init__(self, textpage: object, page: object) -> None:
        self.textpage, self.page = textpage, page
        self._image: object | None = None

    def _light_fill(self, l: float, b: float, r: float, t: float) -> bool:
        import ctypes

        import pypdfium2.raw as pdfium_c

        x, y = (l + r) / 2, (b + t) / 2
        idx = pdfium_c.FPDFText_GetCharIndexAtPos(self.textpage, x, y, (r - l) / 2 + 1, (t - b) / 2 + 1)
        if idx < 0:
            return False
        rgba = [ctypes.c_uint() for _ in range(4)]
        if not pdfium_c.FPDFText_GetFillColor(self.textpage, idx, *rgba):
            return False
        return all(c.value >= self.LIGHT for c in rgba[:3]) and rgba[3].value > 0

    def invisible(self, l: float, b: float, r: float, t: float) -> bool:
        if not self._light_fill(l, b, r, t):
            return False
        if self._image is None:
            self._image = self.page.render(scale=self.SCALE, grayscale=True).to_pil()  # type: ignore[attr-defined]
        img = self._image
        height = self.page.get_height()  # type: ignore[attr-defined]
        box = (int(l * self.SCALE), int((height - t) * self.SCALE), int(r * self.SCALE) + 1, int((height - b) * self.SCALE) + 1)
        lo, hi = img.crop(box).getextrema()  # type: ignore[attr-defined]
        return hi - lo < self.CONTRAST


def _vertical_overlap(a: _Seg, b: _Seg) -> bool:
    return min(a.t, b.t) - max(a.b, b.b) > 0.3 * min(a.t - a.b, b.t - b.b)


def _median_width(segs: list[_Seg]) -> float:
    ws = sorted(s.r - s.l for s in segs)
    return ws[len(ws) // 2] if ws else 0.0


def _gutter(segs: list[_Seg], width: float) -> float | None:
    """x of a gutter with at least 3 lines on each side standing side by side, or None."""
    best: tuple[int, float] | None = None
    x = 0.3 * width
    while x < 0.7 * width:
        if not any(s.l < x < s.r for s in segs if len(s.text.strip()) > 3):
            left = [s for s in segs if s.r <= x]
            right = [s for s in segs if s.l >= x]
            pl = [a for a in left if any(_vertical_overlap(a, b) for b in right)]
            pr = [b for b in right if any(_vertical_overlap(a, b) for a in left)]
            paired = len(pl)
            # text columns are wide; narrow side-by-side cells are a table, read row by row
            wide = paired >= 3 and min(_median_width(pl), _median_width(pr)) >= 0.2 * width
            if wide and (best is None or paired > best[0]):
                best = (paired, x)
        x += 2.0
    return best[1] if best else None


def _group_lines(segs: list[_Seg]) -> list[Line]:
    """Segments of one column -> lines top to bottom (segments on one baseline joined by x)."""
    lines: list[list[_Seg]] = []
    for s in sorted(segs, key=lambda s: (-s.t, s.l)):
        if lines and _vertical_overlap(lines[-1][0], s):
            lines[-1].append(s)
        else:
            lines.append([s])
    out = []
    for group in lines:
        group.sort(key=lambda s: s.l)
        text = " ".join(s.text.strip() for s in group)
        out.append(Line(text=text, top=max(s.t for s in group), bottom=min(s.b for s in group)))
    return out


def _line_pitch(pitches: list[float]) -> float:
    """The body's line pitch: the most common spacing (1 pt bins), the smallest on a tie.

    Headers, footers and paragraph gaps are wider, code or footnotes tighter; a page with few
    lines has too few samples for a median, and the mode degrades to the smallest spacing.
    """
    if not pitches:
        return 0.0
    bins: dict[int, int] = {}
    for p in pitches:
        bins[round(p)] = bins.get(round(p), 0) + 1
    best = max(bins.values())
    return float(min(k for k, v in bins.items() if v == best))


def _mark_paragraphs(blocks: list[list[Line]]) -> list[Line]:
    """Flatten column blocks; a paragraph starts at each block and after a gap > 1.3 x line pitch,
    unless the text plainly runs on (no sentence end before, a lower-case word after); a bulleted
    line is a list item and starts one too."""
    # tops, not bottoms: nearly every line has an ascender, descenders vary more
    pitch = _line_pitch([a.top - b.top for blk in blocks for a, b in zip(blk, blk[1:]) if a.top > b.top])
    out: list[Line] = []
    for blk in blocks:
        for i, line in enumerate(blk):
            gap = i > 0 and pitch > 0 and blk[i - 1].top - line.top > 1.3 * pitch
            runs_on = i > 0 and line.text[:1].islower() and blk[i - 1].text.rstrip()[-1:] not in ".!?:;"
            line.para_start = i == 0 or (gap and not runs_on) or line.text.lstrip()[:1] in _BULLETS
            out.append(line)
    return out


def layout_lines(segs: list[_Seg], width: float) -> list[Line]:
    """Reading order: full-width lines above a two-column region, left column, right column, below."""
    if not segs:
        return []
    x = _gutter(segs, width)
    if x is None:
        return _mark_paragraphs([_group_lines(segs)])
    left = [s for s in segs if s.r <= x]
    right = [s for s in segs if s.l >= x]
    paired = [a for a in left if any(_vertical_overlap(a, b) for b in right)]
    paired += [b for b in right if any(_vertical_overlap(a, b) for a in left)]
    lo, hi = min(s.b for s in paired), max(s.t for s in paired)
    band = [s for s in segs if s.b >= lo - 1 and s.t <= hi + 1 and not (s.l < x < s.r)]
    in_band = {id(s) for s in band}
    above = [s for s in segs if id(s) not in in_band and s.b >= hi]
    below = [s for s in segs if id(s) not in in_band and s.b < hi]
    blocks = [
        _group_lines(above),
        _group_lines([s for s in band if s.r <= x]),
        _group_lines([s for s in band if s.l >= x]),
        _group_lines(below),
    ]
    return _mark_paragraphs([b for b in blocks if b])
