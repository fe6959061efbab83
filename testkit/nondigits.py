"""Realistic uploads of marks nobody would read as a digit or a number, for a "not a digit" check.

Five categories: letters and short words that look like no digit, symbols, drawn shapes,
scribbles (signatures among them) and patterns of dots. Each mark has a random size, aspect,
slant, turn, pen and wobble; letters and symbols are stroked by hand or set in one of the shipped
handwriting fonts, the rest are ``testkit.shape_paths``. The ink is photographed on paper or
exported from a drawing pad as ``testkit.numbers`` does with numbers, in the same sizes, pens and
papers. ``generate(kind, n, seed=...)`` is deterministic.

    python -m testkit.nondigits --out DIR --n 10 --seed 1
"""

from __future__ import annotations

import argparse
import functools
import itertools
import math
import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage as ndi
from scipy.spatial import cKDTree
from skimage.morphology import skeletonize

from testkit import shape_paths as sp
from testkit.numbers import _reweight, fonts, glyph_coverage
from testkit.render import drawing_export, jpeg_bytes, paper_photo
from testkit.shape_paths import Rng, Sketch

Span = tuple[float, float]

KINDS = ("photo", "pad")
CATEGORIES = ("letter", "symbol", "shape", "scribble", "dots")

# Letters that look like no digit (O Q D I l i j J S s Z z B b g q G C c L T do), as one pen
# writes them: caps one unit tall on the baseline y=1, lowercase from y=.45, points and arcs
# as ``shape_paths.parse`` reads them.
LETTERS: dict[str, str] = {
    "A": "0,1 .35,0 .7,1; .15,.6 .55,.6",
    "E": ".6,0 0,0 0,1 .62,1; 0,.5 .45,.5",
    "F": ".6,0 0,0 0,1; 0,.5 .45,.5",
    "H": "0,0 0,1; .65,0 .65,1; 0,.5 .65,.5",
    "K": "0,0 0,1; .6,0 0,.6; .18,.45 .65,1",
    "M": "0,1 .05,0 .4,.65 .75,0 .8,1",
    "N": "0,1 0,0 .65,1 .65,0",
    "P": "0,1 0,0 .3,0 a.3,.25,.28,.25,-90,90 0,.5",
    "R": "0,1 0,0 .3,0 a.3,.25,.28,.25,-90,90 0,.5; .25,.5 .65,1",
    "U": "0,0 0,.65 a.32,.65,.32,.35,180,0 .64,0",
    "V": "0,0 .35,1 .7,0",
    "W": "0,0 .2,1 .45,.3 .7,1 .9,0",
    "X": "0,0 .65,1; .65,0 0,1",
    "Y": "0,0 .35,.5 .7,0; .35,.5 .35,1",
    "a": "a.22,.73,.22,.27,-30,330; .45,.45 .45,.95 .52,1",
    "e": "0,.72 .48,.72 a.25,.72,.24,.27,0,-320",
    "f": ".5,.08 a.33,.15,.16,.13,-20,-180 .17,1; 0,.45 .42,.45",
    "h": "0,0 0,1; 0,.7 a.22,.68,.22,.23,180,360 .44,1",
    "k": "0,0 0,1; .4,.45 0,.75; .12,.67 .42,1",
    "m": "0,.45 0,1; 0,.62 a.17,.62,.17,.17,180,360 .34,1; .34,.62 a.51,.62,.17,.17,180,360 .68,1",
    "n": "0,.45 0,1; 0,.68 a.22,.68,.22,.23,180,360 .44,1",
    "r": "0,.45 0,1; 0,.72 a.24,.72,.24,.27,180,300",
    "t": ".15,.08 .15,.9 a.3,.9,.15,.1,180,90 .38,.98; 0,.45 .38,.45",
    "u": "0,.45 0,.8 a.2,.8,.2,.2,180,0 .4,.45; .4,.45 .42,1",
    "v": "0,.45 .22,1 .44,.45",
    "w": "0,.45 .15,1 .3,.6 .45,1 .6,.45",
    "x": "0,.45 .42,1; .42,.45 0,1",
    "y": "0,.45 .22,.95; .44,.45 .1,1.35",
}
# Symbols in a one-unit box; none of - . , / | ( ) _ ' " (parts of numbers, or ones).
SYMBOLS: dict[str, str] = {
    "+": ".5,.12 .5,.88; .12,.5 .88,.5",
    "=": ".1,.38 .9,.38; .1,.66 .9,.66",
    "?": "a.45,.3,.25,.22,-160,60 .45,.7; .45,.93",
    "!": ".5,.05 .5,.7; .5,.93",
    "#": ".38,.08 .3,.92; .72,.08 .64,.92; .1,.35 .92,.35; .06,.65 .88,.65",
    "*": ".5,.1 .5,.9; .15,.3 .85,.7; .15,.7 .85,.3",
    "<": ".8,.15 .2,.5 .8,.85",
    ">": ".2,.15 .8,.5 .2,.85",
    "~": "a.28,.55,.22,.15,180,360 a.72,.55,.22,.15,180,0",
    "^": ".15,.6 .5,.15 .85,.6",
    "\u00d7": ".2,.2 .8,.8; .8,.2 .2,.8",
    "\u00f7": ".1,.5 .9,.5; .5,.22; .5,.78",
    "±": ".5,.1 .5,.65; .15,.38 .85,.38; .15,.86 .85,.86",
    "✓": ".05,.55 .35,.88 .95,.08",
    "∞": "a.76,.5,.22,.2,-140,140 a.24,.5,.22,.2,-40,-320 .6,.37",
    "π": ".08,.3 .92,.26; .34,.28 .3,.92; .66,.27 .72,.86 .82,.92",
    "√": ".05,.62 .2,.52 .36,.92 .56,.08 .96,.08",
    "♪": "a.3,.82,.16,.11,0,360; a.3,.82,.07,.04,0,360; .46,.8 .46,.08 .78,.38",
    "@": "a.48,.52,.15,.18,0,360; .64,.36 .64,.66 a.75,.62,.11,.09,180,0 a.5,.5,.36,.42,5,-300",
    "%": ".82,.08 .18,.92; a.26,.26,.12,.14,0,360; a.74,.74,.12,.14,0,360",
    "©": "a.5,.5,.45,.45,0,360; a.5,.5,.2,.22,-40,-320",
    "€": "a.58,.5,.32,.42,-50,-310; .08,.42 .6,.42; .08,.6 .55,.6",
}
FONT_SYMBOLS = "&§£¥"  # only the fonts draw these
SMALL_CAPS = ("because-we-organize",)  # fonts whose lowercase t is a T, which reads as a 7
WORDS = (
    "hey", "yeah", "wax", "tax", "war", "hat", "key", "ARMY", "AMY", "NEW", "FAN", "fun", "run",
    "hex", "me", "we", "the", "ham", "KEN", "MAX", "PARK", "many", "near", "never", "NAME",
    "Amy", "Mary", "Henry", "Ray", "Kate", "Fay", "Wren",
)  # fmt: skip


@dataclass(frozen=True)
class NonDigit:
    """One synthetic upload of a mark that is no digit: encoded ``data`` and what it shows."""

    kind: str
    category: str
    name: str
    data: bytes
    filename: str


@dataclass(frozen=True)
class _Mark:
    """A mark ``size`` (width, height) units big; ``draw(unit, stroke, rng)`` inks it with a
    unit (a digit's height) of ``unit`` pixels and a pen ``stroke`` units wide, None a marker."""

    name: str
    size: tuple[float, float]
    draw: Callable[[float, float | None, Rng], np.ndarray]


def _densify(path: np.ndarray, spacing: float = 0.02) -> np.ndarray:
    """Points at most ``spacing`` apart along the path."""
    out = [path[:1]]
    for p, q in itertools.pairwise(path):
        n = max(1, math.ceil(float(np.hypot(*(q - p))) / spacing))
        out.append(p + (q - p) * (np.arange(1, n + 1)[:, None] / n))
    return np.concatenate(out)


def _by_hand(name: str, sketch: Sketch, rng: Rng, turn: float, slant: float = 0.1) -> _Mark:
    """``sketch`` as a hand draws it: leaned (cursive to the right), turned, squeezed, the paper
    drifting under the pen and every stroke wavering on its own."""
    lean = rng.uniform(0.1, 0.4) if name == "signature" else rng.uniform(-slant, slant)
    m = sp.affine(rng.uniform(-turn, turn), lean, rng.uniform(0.85, 1.2)).T
    wobble = rng.uniform(0.008, 0.03)
    freq, phase = rng.uniform(1.0, 2.5, (2, 2)) * 2 * np.pi, rng.uniform(0, 2 * np.pi, 2)

    def drift(p: np.ndarray) -> np.ndarray:
        # A smooth field, so strokes that meet (the bar of an A) still meet after it.
        return p + wobble * np.sin(p @ freq + phase)

    def waver(p: np.ndarray) -> np.ndarray:
        along = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(p, axis=0).T))])
        f, ph = rng.uniform(2, 6), rng.uniform(0, 2 * np.pi, 2)
        return p + 0.35 * wobble * np.sin(f * along[:, None] + ph)

    strokes = [waver(drift(_densify(s))) @ m for s in sketch.strokes]
    fills = [drift(_densify(f, 0.03)) @ m for f in sketch.fills]
    drawn = replace(sketch, strokes=strokes, fills=fills, dots=drift(sketch.dots) @ m)
    low, high = drawn.points().min(axis=0), drawn.points().max(axis=0)
    size = np.maximum(high - low, 0.05)
    return _Mark(name, (float(size[0]), float(size[1])), functools.partial(_ink, drawn, low))


def hand_text(text: str, rng: Rng) -> Sketch:
    """``text`` (letters of ``LETTERS``) stroked a unit tall, the letters a little uneven."""
    strokes, x, drift = [], 0.0, rng.uniform(-0.06, 0.06)
    for i, char in enumerate(text):
        size = rng.uniform(0.88, 1.1)
        letter = [s * size for s in sp.parse(LETTERS[char])]
        left = min(s[:, 0].min() for s in letter)
        shift = np.array([x - left, drift * i + rng.uniform(-0.05, 0.05) + 1 - size])
        strokes += [s + shift for s in letter]
        x += max(s[:, 0].max() for s in letter) - left + rng.uniform(0.12, 0.3)
    return Sketch(strokes)


def _ink(
    sketch: Sketch, low: np.ndarray, unit: float, stroke: float | None, rng: Rng
) -> np.ndarray:
    """Coverage (h, w) float32 in [0, 1] of ``sketch`` from its corner ``low``, drawn with a
    round pen as ``testkit.render.stroke_coverage`` draws along a skeleton."""
    radius = unit * (rng.uniform(0.1, 0.18) if stroke is None else stroke) / 2
    radius = max(1.2, min(radius, 0.3 * sketch.detail * unit))
    dots = sketch.dots
    gap = cKDTree(dots).query(dots, k=2)[0][:, 1].min() * unit if len(dots) > 1 else unit
    # Dots stay dots: never touching, never specks lost between them.
    dot = max(1.8, float(np.clip(radius * sketch.dot_size, 0.15 * gap, 0.32 * gap)))
    margin = math.ceil(max(radius, dot)) + 3
    w, h = ((sketch.points().max(axis=0) - low) * unit).astype(int) + 2 * margin + 1
    layers = [Image.new("L", (int(w), int(h))) for _ in range(3)]
    pen, fill, spot = (ImageDraw.Draw(layer) for layer in layers)

    def xy(p: np.ndarray) -> list[tuple[float, float]]:
        return [(x, y) for x, y in (p - low) * unit + margin]

    for path in sketch.strokes:
        (pen.line if len(path) > 1 else pen.point)(xy(path), fill=255)
    for polygon in sketch.fills:
        fill.polygon(xy(polygon), fill=255)
    spot.point(xy(dots), fill=255)
    skeleton, inside, centres = (np.asarray(layer) > 0 for layer in layers)
    skeleton |= inside & ~ndi.binary_erosion(inside)  # the outline of all fills together
    cov = inside * (not sketch.hollow)
    for mask, r in ((skeleton, radius), (centres, dot)):
        if mask.any():
            cov = np.maximum(cov, np.clip(r + 0.5 - ndi.distance_transform_edt(~mask), 0, 1))
    return cov.astype(np.float32)


@functools.cache
def _has_glyph(font: str, char: str) -> bool:
    """Whether ``font`` draws ``char``: some ink, and not the box of a missing glyph."""
    try:
        cov = glyph_coverage(font, char, 60)[0]
    except IndexError:  # no ink at all
        return False
    try:  # a private-use character no font has shows the font's missing glyph, if it has one
        missing = glyph_coverage(font, "\ue000", 60)[0]
    except IndexError:
        return True
    return cov.shape != missing.shape or float(np.abs(cov - missing).mean()) > 0.02


def _warp(cov: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Coverage mapped by the 2x2 ``m`` (``shape_paths.affine``), cropped to its ink."""
    h, w = cov.shape
    corners = sp.pts(0, 0, w, 0, 0, h, w, h) @ m.T
    low = corners.min(axis=0)
    size = tuple(int(v) + 1 for v in np.ceil(corners.max(axis=0) - low))
    inv = np.linalg.inv(m)
    # PIL maps each output pixel back to the input: input = inv @ (output + low).
    coeffs = (*inv[0], float(inv[0] @ low), *inv[1], float(inv[1] @ low))
    im = Image.fromarray(cov, mode="F").transform(
        size, Image.Transform.AFFINE, coeffs, Image.Resampling.BILINEAR
    )
    out = np.clip(np.asarray(im), 0, 1)
    ys, xs = np.flatnonzero(out.max(axis=1) > 0.05), np.flatnonzero(out.max(axis=0) > 0.05)
    return out[ys[0] : ys[-1] + 1, xs[0] : xs[-1] + 1].astype(np.float32)


def _glyph_mark(name: str, font: str, text: str, rng: Rng, *, turn: float) -> _Mark:
    """``text`` set in ``font``, its capitals a unit tall, leaned, turned and squeezed."""
    m = sp.affine(rng.uniform(-turn, turn), rng.uniform(-0.1, 0.25), rng.uniform(0.85, 1.2))
    cap = glyph_coverage(font, "H", 100)[0].shape[0]

    def draw(unit: float, stroke: float | None, rng: Rng) -> np.ndarray:
        cov = _warp(glyph_coverage(font, text, max(8, round(100 * unit / cap)))[0], m)
        ink = cov > 0.5
        if stroke is None or not ink.any():  # a marker: the font's own weight
            return cov
        half = float(np.median(ndi.distance_transform_edt(ink)[skeletonize(ink)]))
        # As testkit.numbers does: thin no more than strokes allow, thicken before holes fill.
        return _reweight(cov, float(np.clip(stroke * unit / 2 - half, -0.4 * half, half)))

    probe = draw(64, None, rng)
    return _Mark(name, (probe.shape[1] / 64, probe.shape[0] / 64), draw)


def _letter(rng: Rng) -> _Mark:
    if rng.random() < 0.5:
        text = str(rng.choice(list(LETTERS)))
    elif rng.random() < 0.4:
        text = str(rng.choice(WORDS))
    else:  # initials, or a made-up word
        upper = rng.random() < 0.5
        pool = [c for c in LETTERS if c.isupper() == upper]
        text = "".join(rng.choice(pool, int(rng.integers(2, 6))))
    name = f"letter {text}" if len(text) == 1 else f"word {text}"
    names = [font for font in fonts() if "t" not in text or font not in SMALL_CAPS]
    if rng.random() < 0.5:
        return _glyph_mark(name, str(rng.choice(names)), text, rng, turn=6)
    return _by_hand(name, hand_text(text, rng), rng, turn=6)


def _symbol(rng: Rng) -> _Mark:
    char = str(rng.choice(list(SYMBOLS) + list(FONT_SYMBOLS)))
    having = [font for font in fonts() if _has_glyph(font, char)]
    if having and (char not in SYMBOLS or rng.random() < 0.5):
        return _glyph_mark(f"symbol {char}", str(rng.choice(having)), char, rng, turn=10)
    return _by_hand(f"symbol {char}", Sketch(sp.parse(SYMBOLS[char])), rng, turn=10, slant=0.15)


def _drawn(shapes: tuple[sp.Shape, ...], turn: float) -> Callable[[Rng], _Mark]:
    def mark(rng: Rng) -> _Mark:
        return _by_hand(*shapes[int(rng.integers(len(shapes)))](rng), rng, turn=turn)

    return mark


_MARKS: dict[str, Callable[[Rng], _Mark]] = {
    "letter": _letter,
    "symbol": _symbol,
    "shape": _drawn(sp.SHAPES, 15),
    "scribble": _drawn(sp.SCRIBBLES, 8),
    "dots": _drawn(sp.DOTS, 10),
}


def coverage(
    category: str, rng: np.random.Generator, height: int, stroke: float | None
) -> tuple[str, np.ndarray]:
    """One random mark of ``category``: its name and ink coverage (h, w) float32 in [0, 1],
    written as big as a digit ``height`` pixels tall would be (words and lines of dots run
    wider, flat marks are lower) with a pen ``stroke`` times ``height`` wide, None a marker."""
    mark = _MARKS[category](rng)
    return mark.name, mark.draw(height, stroke, rng)


def _unit(
    mark: _Mark, frame: tuple[int, int], rng: Rng, wide: Span, tall: Span, most: float
) -> float:
    """The unit in pixels that makes ``mark`` span ``wide`` of the frame's width if it is a
    wide mark, else ``tall`` of its shorter side, and never more than ``most`` of either."""
    (mw, mh), (w, h) = mark.size, frame
    unit = rng.uniform(*wide) * w / mw if mw > 1.6 * mh else rng.uniform(*tall) * min(w, h) / mh
    return min(unit, most * w / mw, most * h / mh)


def _photo(mark: _Mark, rng: Rng) -> bytes:
    """A phone photo of the mark on paper, as ``testkit.numbers`` photographs a number."""
    w = int(rng.choice([800, 1024, 1280]))
    frame = (w, int(w * rng.choice([0.75, 0.5625, 1.0])))
    # From a third to most of the frame.
    unit = _unit(mark, frame, rng, (0.35, 0.85), (0.3, 0.7), 0.85)

    paper = str(rng.choice(["white", "white", "yellow", "grey"]))
    im = paper_photo(
        mark.draw,
        rng,
        frame=frame,
        fraction=(unit / min(frame),) * 2,  # the unit, as a fraction of the shorter side
        paper=paper,
        ink=str(rng.choice(["black", "black", "blue"] + (["grey"] if paper == "grey" else []))),
        light=(0.3, 0.55) if paper == "grey" else (0.0, 0.25),
        rotation=3.0,
        ruled=rng.random() < 0.2,
    )
    return jpeg_bytes(im, int(rng.integers(60, 95)))


def _pad(mark: _Mark, rng: Rng) -> bytes:
    """A drawing pad's PNG export: a square-ish canvas for a compact mark, a wide one else."""
    cw = int(rng.choice([600, 800, 1000]))
    wide = mark.size[0] > 1.6 * mark.size[1]
    ch = int(cw * rng.choice([0.3, 0.4, 0.5] if wide else [0.75, 1.0, 1.0, 1.25]))
    unit = _unit(mark, (cw, ch), rng, (0.5, 0.92), (0.5, 0.85), 0.92)
    stroke = rng.uniform(0.06, 0.14) if rng.random() < 0.75 else None
    cov = mark.draw(unit, stroke, rng)
    ys, xs = np.flatnonzero(cov.max(axis=1) > 0), np.flatnonzero(cov.max(axis=0) > 0)
    # The ink may overrun by a pen's width: the pad crops it.
    cov = cov[ys[0] : ys[-1] + 1, xs[0] : xs[-1] + 1][:ch, :cw]
    canvas = np.zeros((ch, cw), dtype=np.float32)
    y = int(rng.uniform(0, ch - cov.shape[0] + 1))
    x = int(rng.uniform(0, cw - cov.shape[1] + 1))
    canvas[y : y + cov.shape[0], x : x + cov.shape[1]] = cov
    return drawing_export(canvas, rng)


def _slug(name: str) -> str:
    """``name`` fit for a file name: "symbol €" -> "symbol_u20ac"."""
    safe = (c if c.isascii() and (c.isalnum() or c == "-") else f"u{ord(c):04x}" for c in name)
    return "".join(safe).replace("u0020", "_")


def generate(
    kind: str, n: int, *, seed: int = 0, categories: tuple[str, ...] = CATEGORIES
) -> list[NonDigit]:
    """``n`` uploads of one ``kind`` ("photo" JPEGs or "pad" PNGs), ``categories`` taken in
    turn, deterministic for a given ``seed``."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; choose from {', '.join(KINDS)}")
    if not categories or set(categories) - set(CATEGORIES):
        raise ValueError(f"categories {categories!r}: choose from {', '.join(CATEGORIES)}")
    rng = np.random.default_rng([seed, zlib.crc32(kind.encode())])
    uploads = []
    for i in range(n):
        category = categories[i % len(categories)]
        mark = _MARKS[category](rng)
        data, ext = (_photo(mark, rng), "jpg") if kind == "photo" else (_pad(mark, rng), "png")
        filename = f"{kind}-{i:04d}-{category}-{_slug(mark.name)}.{ext}"
        uploads.append(NonDigit(kind, category, mark.name, data, filename))
    return uploads


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write synthetic uploads of non-digit marks.")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--n", type=int, default=10, help="uploads of each kind")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--kind", choices=KINDS, action="append", help="default: every kind")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for kind in args.kind or KINDS:
        for upload in generate(kind, args.n, seed=args.seed):
            (args.out / upload.filename).write_bytes(upload.data)


if __name__ == "__main__":
    main()
