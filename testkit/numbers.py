"""Realistic uploads of whole numbers written by hand, built from MNIST **test** digits.

Each number is 2-8 MNIST test digits of one writer's pen, written along a wavy baseline with
uneven sizes, slants and gaps, then photographed (paper, light, blur, noise, JPEG, as in
``testkit.render``) or exported from a drawing pad. A quarter of the numbers start with 0.
The ``font_`` kinds write the number in one of the handwriting fonts of ``testkit/fonts/``
instead, each digit jittered (size, width, baseline, slant, stroke weight) and none touching.
``generate(kind, n, seed=...)`` is deterministic and returns encoded bytes with the true text.
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage as ndi
from skimage.morphology import skeletonize

from ml.wholeness import line_lefts
from testkit.render import drawing_export, jpeg_bytes, paper_photo, stroke_coverage

# kind: (fewest digits, most digits, gap range in digit heights, medium, frame)
_KINDS: dict[str, tuple[int, int, tuple[float, float], str, tuple[int, int] | None]] = {
    "photo_2to5": (2, 5, (0.12, 0.45), "photo", None),
    "pad_2to5": (2, 5, (0.12, 0.45), "pad", None),
    "photo_6to8": (6, 8, (0.12, 0.4), "photo", None),
    "photo_touching": (2, 5, (-0.12, -0.02), "photo", None),
    "pad_touching": (2, 5, (-0.12, -0.02), "pad", None),
    "photo_12mp_6digits": (6, 6, (0.12, 0.4), "photo", (4000, 3000)),
    # Gaps stay positive: touching digits are the touching kinds' business.
    "font_photo_2to8": (2, 8, (0.12, 0.45), "photo", None),
    "font_pad_2to8": (2, 8, (0.12, 0.45), "pad", None),
}
KINDS = tuple(_KINDS)
SEPARATED_KINDS = ("photo_2to5", "pad_2to5", "photo_6to8")
TOUCHING_KINDS = ("photo_touching", "pad_touching")
FONT_KINDS = ("font_photo_2to8", "font_pad_2to8")

FONTS_DIR = Path(__file__).resolve().parent / "fonts"
_FONT_SUFFIXES = (".woff", ".ttf", ".otf")


@functools.cache
def _mnist_test() -> tuple[np.ndarray, np.ndarray]:
    from ml.data import load_mnist

    return load_mnist("test")


@dataclass(frozen=True)
class NumberUpload:
    """One synthetic upload of a number: encoded ``data`` and the true ``text`` ("042")."""

    kind: str
    text: str
    data: bytes
    filename: str
    mnist_indices: tuple[int, ...]
    font: str | None = None


def line_coverage(
    digits: list[np.ndarray],
    height: int,
    rng: np.random.Generator,
    *,
    stroke: float | None,
    gaps: tuple[float, float],
) -> np.ndarray:
    """Ink coverage (h, w) float32 in [0, 1] of MNIST digits (each (28, 28) uint8) written left
    to right ``height`` pixels tall, ``gaps`` (in heights) apart; negative gaps overlap."""
    covs = []
    for digit in digits:
        size = max(8, round(height * rng.uniform(0.88, 1.08)))
        cov = stroke_coverage(digit, size, rng, stroke=stroke)
        covs.append(_slanted_ink(cov, rng.uniform(-5, 5)))
    return _lay_out(covs, [0.0] * len(covs), height, rng, gaps=gaps)


def _slanted_ink(cov: np.ndarray, angle: float) -> np.ndarray:
    """A digit's coverage turned by ``angle`` degrees and cropped to its ink: spacing is
    measured between the inks, not between the padded boxes."""
    if abs(angle) > 0.05:
        im = Image.fromarray(cov, mode="F").rotate(angle, Image.Resampling.BICUBIC, expand=True)
        cov = np.clip(np.asarray(im), 0, 1).astype(np.float32)
    ys = np.flatnonzero(cov.max(axis=1) > 0.05)
    xs = np.flatnonzero(cov.max(axis=0) > 0.05)
    if not len(ys):
        # A glyph thinned away at a tiny size: the number is written without it.
        return cov
    return cov[ys[0] : ys[-1] + 1, xs[0] : xs[-1] + 1]


def _lay_out(
    covs: list[np.ndarray],
    drops: list[float],
    height: int,
    rng: np.random.Generator,
    *,
    gaps: tuple[float, float],
) -> np.ndarray:
    """Ink crops written left to right on one line; ``drops`` are how far below the baseline
    each crop's ink ends (a font's 7 or 9 may hang below it)."""
    tops = []
    # The baseline wanders a little; digits of a number sit roughly on it.
    drift = rng.uniform(-0.06, 0.06) * height
    for i, cov in enumerate(covs):
        tops.append(drift * i + rng.uniform(-0.05, 0.05) * height + drops[i] - cov.shape[0])
    lefts = line_lefts([cov.shape[1] for cov in covs], height, rng, gaps)
    top0 = min(tops)
    h = round(max(t + c.shape[0] for t, c in zip(tops, covs, strict=True)) - top0) + 2
    w = max(left + c.shape[1] for left, c in zip(lefts, covs, strict=True)) + 2
    out = np.zeros((h, w), dtype=np.float32)
    for top, left, cov in zip(tops, lefts, covs, strict=True):
        y = round(top - top0)
        ch, cw = cov.shape
        region = out[y : y + ch, left : left + cw]
        np.maximum(region, cov[: region.shape[0], : region.shape[1]], out=region)
    return out


@functools.cache
def fonts() -> dict[str, Path]:
    """The shipped handwriting fonts: name (its folder in ``testkit/fonts/``) -> font file."""
    found = {}
    for folder in sorted(p for p in FONTS_DIR.iterdir() if p.is_dir()):
        files = sorted(p for p in folder.iterdir() if p.suffix in _FONT_SUFFIXES)
        if len(files) != 1:
            raise RuntimeError(f"{folder} should hold one font file, not {len(files)}")
        found[folder.name] = files[0]
    return found


@functools.lru_cache(maxsize=512)
def _font(name: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(fonts()[name]), size)


def glyph_coverage(font: str, digit: str, size: int) -> tuple[np.ndarray, int]:
    """One ``digit`` of ``font`` at font ``size``: its ink coverage (h, w) float32 in [0, 1],
    cropped to the ink, and how many pixels below the baseline the ink ends."""
    face = _font(font, size)
    left, top, right, bottom = face.getbbox(digit, anchor="ls")
    pad = 2 + size // 8
    im = Image.new("L", (right - left + 2 * pad, bottom - top + 2 * pad), 0)
    ImageDraw.Draw(im).text((pad - left, pad - top), digit, font=face, fill=255, anchor="ls")
    cov = np.asarray(im, dtype=np.float32) / 255
    ys = np.flatnonzero(cov.max(axis=1) > 0.05)
    xs = np.flatnonzero(cov.max(axis=0) > 0.05)
    return cov[ys[0] : ys[-1] + 1, xs[0] : xs[-1] + 1], int(ys[-1] - (pad - top))


@functools.cache
def _digit_height(font: str) -> float:
    """Median ink height of the font's ten digits at font size 100."""
    return float(np.median([glyph_coverage(font, d, 100)[0].shape[0] for d in "0123456789"]))


def _reweight(cov: np.ndarray, grow: float) -> np.ndarray:
    """The ink's edge moved ``grow`` pixels outwards (inwards when negative)."""
    margin = max(0, int(np.ceil(grow))) + 1
    ink = np.pad(cov, margin) > 0.5
    signed = np.where(
        ink, ndi.distance_transform_edt(ink) - 0.5, 0.5 - ndi.distance_transform_edt(~ink)
    )
    return np.clip(signed + grow + 0.5, 0, 1).astype(np.float32)


def font_line_coverage(
    text: str,
    font: str,
    height: int,
    rng: np.random.Generator,
    *,
    stroke: float | None,
    gaps: tuple[float, float],
) -> np.ndarray:
    """Ink coverage (h, w) float32 in [0, 1] of ``text`` written in ``font``, its digits about
    ``height`` pixels tall and ``gaps`` (in heights, > 0) apart, each digit jittered in size,
    width, slant and baseline. ``stroke`` (a fraction of the height) is the pen to imitate by
    thickening or thinning the font's strokes; None keeps them about as designed."""
    size = 100 * height / _digit_height(font)
    covs, drops = [], []
    for digit in text:
        factor = rng.uniform(0.9, 1.1)
        cov, drop = glyph_coverage(font, digit, max(6, round(size * factor)))
        squeeze = rng.uniform(0.88, 1.12)
        width = max(2, round(cov.shape[1] * squeeze))
        cov = np.asarray(
            Image.fromarray(cov, mode="F").resize((width, cov.shape[0]), Image.Resampling.BILINEAR)
        )
        ink = cov > 0.5
        # Half the stroke width: the ink's depth along its own centre line.
        half = float(np.median(ndi.distance_transform_edt(ink)[skeletonize(ink)]))
        target = stroke * height / 2 if stroke is not None else half * rng.uniform(0.9, 1.3)
        # Thinning stops well before strokes break, growing before the holes of 0, 6, 8, 9 fill.
        cov = _reweight(cov, float(np.clip(target - half, -0.4 * half, 1.0 * half)))
        covs.append(_slanted_ink(cov, rng.uniform(-6, 6)))
        drops.append(drop)
    return _lay_out(covs, drops, height, rng, gaps=gaps)


def _fit(cov: np.ndarray, width: int, height: int) -> np.ndarray:
    """Shrink coverage that would not fit in (width, height)."""
    factor = min(1.0, width / cov.shape[1], height / cov.shape[0])
    if factor >= 1.0:
        return cov
    size = (max(1, int(cov.shape[1] * factor)), max(1, int(cov.shape[0] * factor)))
    return np.array(Image.fromarray(cov, mode="F").resize(size, Image.Resampling.BILINEAR))


def _digits(count: int, rng: np.random.Generator) -> list[int]:
    wanted = [int(rng.integers(10)) for _ in range(count)]
    if rng.random() < 0.25:
        wanted[0] = 0
    return wanted


def _pick(count: int, rng: np.random.Generator, labels: np.ndarray) -> tuple[list[int], list[int]]:
    wanted = _digits(count, rng)
    indices = []
    for digit in wanted:
        pool = np.flatnonzero(labels == digit)
        indices.append(int(rng.choice(pool)))
    return wanted, indices


Line = Callable[[int, float | None, np.random.Generator], np.ndarray]


def _render(kind: str, line: Line, count: int, rng: np.random.Generator) -> tuple[bytes, str]:
    """``line(height, stroke, rng)`` draws the number's ink of ``count`` digits."""
    _, _, _, medium, frame = _KINDS[kind]
    if medium == "pad":
        cw = int(rng.choice([600, 800, 1000]))
        ch = int(cw * rng.choice([0.3, 0.4, 0.5]))
        height = int(rng.uniform(0.45, 0.75) * ch)
        stroke = rng.uniform(0.06, 0.14) if rng.random() < 0.75 else None
        cov = _fit(line(height, stroke, rng), cw * 0.92, ch)
        canvas = np.zeros((ch, cw), dtype=np.float32)
        y = int(rng.uniform(0, ch - cov.shape[0] + 1))
        x = int(rng.uniform(0.02, 0.98) * (cw - cov.shape[1]))
        canvas[y : y + cov.shape[0], x : x + cov.shape[1]] = cov
        return drawing_export(canvas, rng), "png"

    if frame is None:
        w = int(rng.choice([800, 1024, 1280]))
        frame = (w, int(w * rng.choice([0.75, 0.5625, 1.0])))
    w, h = frame if frame != (4000, 3000) else (1000, 750)

    def draw(height: int, stroke: float | None, rng: np.random.Generator) -> np.ndarray:
        return _fit(line(height, stroke, rng), 0.9 * w, 0.9 * h)

    # The line spans a third to most of the frame's width.
    span = rng.uniform(0.35, 0.85) * w / (0.85 * count)
    fraction = min(0.5, span / min(w, h))
    paper = str(rng.choice(["white", "white", "yellow", "grey"]))
    im = paper_photo(
        draw,
        rng,
        frame=(w, h),
        fraction=(0.8 * fraction, fraction),
        paper=paper,
        ink=str(rng.choice(["black", "black", "blue"] + (["grey"] if paper == "grey" else []))),
        light=(0.3, 0.55) if paper == "grey" else (0.0, 0.25),
        rotation=3.0,
        ruled=rng.random() < 0.2,
    )
    if frame == (4000, 3000):
        im = im.resize(frame, Image.Resampling.BICUBIC)
        return jpeg_bytes(im, int(rng.integers(80, 90))), "jpg"
    return jpeg_bytes(im, int(rng.integers(60, 95))), "jpg"


def generate(
    kind: str,
    n: int,
    *,
    seed: int = 0,
    images: np.ndarray | None = None,
    labels: np.ndarray | None = None,
) -> list[NumberUpload]:
    """``n`` uploads of one ``kind`` of number, deterministic for a given ``seed``.

    Digits are drawn from ``images``/``labels`` (uint8 (m, 28, 28) / (m,)), by default the
    MNIST test set; the ``font_`` kinds use neither.
    """
    if kind not in _KINDS:
        raise ValueError(f"unknown kind {kind!r}; choose from {', '.join(KINDS)}")
    if kind in FONT_KINDS:
        return _generate_in_fonts(kind, n, seed=seed)
    if images is None or labels is None:
        images, labels = _mnist_test()
    rng = np.random.default_rng([seed, zlib.crc32(kind.encode())])
    fewest, most, gaps = _KINDS[kind][:3]
    uploads = []
    for i in range(n):
        wanted, indices = _pick(int(rng.integers(fewest, most + 1)), rng, labels)
        digits = [images[j] for j in indices]

        def line(height: int, stroke: float | None, rng: np.random.Generator) -> np.ndarray:
            return line_coverage(digits, height, rng, stroke=stroke, gaps=gaps)  # noqa: B023

        data, ext = _render(kind, line, len(digits), rng)
        text = "".join(str(d) for d in wanted)
        uploads.append(
            NumberUpload(
                kind=kind,
                text=text,
                data=data,
                filename=f"{kind}-{i:04d}-{text}.{ext}",
                mnist_indices=tuple(indices),
            )
        )
    return uploads


def _generate_in_fonts(kind: str, n: int, *, seed: int) -> list[NumberUpload]:
    rng = np.random.default_rng([seed, zlib.crc32(kind.encode())])
    fewest, most, gaps = _KINDS[kind][:3]
    names = list(fonts())
    uploads = []
    for i in range(n):
        text = "".join(str(d) for d in _digits(int(rng.integers(fewest, most + 1)), rng))
        font = names[int(rng.integers(len(names)))]

        def line(height: int, stroke: float | None, rng: np.random.Generator) -> np.ndarray:
            return font_line_coverage(text, font, height, rng, stroke=stroke, gaps=gaps)  # noqa: B023

        data, ext = _render(kind, line, len(text), rng)
        uploads.append(
            NumberUpload(
                kind=kind,
                text=text,
                data=data,
                filename=f"{kind}-{i:04d}-{font}-{text}.{ext}",
                mnist_indices=(),
                font=font,
            )
        )
    return uploads
