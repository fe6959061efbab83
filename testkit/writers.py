"""Writers with habits of their own: one handwriting font at a fixed slant, stroke weight, width
and size, with fresh jitter per sample, photographed on paper as ``testkit.uploads`` does.

``WRITERS`` is the benchmark's set; ``sample(writer, digit, rng)`` is one JPEG photo of one digit
in that writer's hand. A habit can also change a glyph: ``open_top`` writes the 8 with the top of
its upper loop left open (a writer whose 8s a reader takes for 0s or 6s).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from testkit.numbers import _lay_out, _reweight, _slanted_ink, glyph_coverage
from testkit.render import jpeg_bytes, paper_photo


@dataclass(frozen=True)
class Writer:
    """``font`` (a folder of ``testkit/fonts``), ``slant`` in degrees (positive leans left),
    ``stroke`` the pen's width as a fraction of the digit's height, ``width`` how much wider
    (>1) or narrower than the font the digits are, ``size`` the digit's height as a fraction of
    the photo's short side; ``open_top`` 8s have an open upper loop."""

    name: str
    font: str
    slant: float = 0.0
    stroke: float = 0.06
    width: float = 1.0
    size: float = 0.45
    open_top: bool = False


WRITERS: tuple[Writer, ...] = (
    Writer("dkg-narrow-open8", "dkg-handwriting", slant=15, stroke=0.09, width=0.6, open_top=True),
    Writer("caveat-wide-thin", "caveat", slant=-20, stroke=0.03, width=1.4),
    Writer("indie-wide-thin", "indie-flower", slant=-20, stroke=0.03, width=1.4),
    Writer("organize-narrow", "because-we-organize", slant=15, stroke=0.09, width=0.6),
    Writer("reenie-wide-thin", "reenie-beanie", slant=-20, stroke=0.03, width=1.4),
    Writer("shadows-narrow", "shadows-into-light", slant=15, stroke=0.09, width=0.6),
    Writer("kalam-wide-thin", "kalam", slant=-20, stroke=0.03, width=1.4),
    Writer("patrick-bold", "patrick-hand", slant=20, stroke=0.12, width=1.3),
)
# The tests' writer: 8s with an open top, which a small model takes for 0s.
OPEN_EIGHTS = Writer("dkg-open8", "dkg-handwriting", open_top=True)


def coverage(writer: Writer, digit: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """Ink coverage (h, w) float32 in [0, 1] of ``digit`` in ``writer``'s hand, about
    ``height`` pixels tall, jittered a little in size, width, slant and weight."""
    cov, _ = glyph_coverage(writer.font, str(digit), 100)
    scale = height / cov.shape[0] * rng.uniform(0.95, 1.05)
    size = (
        max(2, round(cov.shape[1] * scale * writer.width * rng.uniform(0.95, 1.05))),
        max(2, round(cov.shape[0] * scale)),
    )
    cov = np.asarray(Image.fromarray(cov, mode="F").resize(size, Image.Resampling.BILINEAR))
    if writer.open_top and digit == 8:
        cov = _open_top(cov)
    # The font's strokes are about 4% of its height; move the edge to the writer's pen.
    grow = (writer.stroke - 0.04) * size[1] / 2 * rng.uniform(0.85, 1.15)
    cov = _reweight(np.clip(cov, 0, 1).astype(np.float32), grow)
    return _slanted_ink(cov, writer.slant + rng.uniform(-2, 2))


def _open_top(cov: np.ndarray) -> np.ndarray:
    """The 8 with the middle of its upper loop's top erased."""
    ys = np.flatnonzero(cov.max(axis=1) > 0.05)
    xs = np.flatnonzero(cov.max(axis=0) > 0.05)
    h, w = ys[-1] - ys[0] + 1, xs[-1] - xs[0] + 1
    out = cov.copy()
    out[ys[0] : ys[0] + int(0.22 * h), xs[0] + int(0.3 * w) : xs[0] + int(0.72 * w)] = 0
    return out


def sample(writer: Writer, digit: int, rng: np.random.Generator) -> bytes:
    """One JPEG photo of ``digit`` written by ``writer`` on paper."""
    frame = (640, 480)
    height = int(writer.size * min(frame) * rng.uniform(0.95, 1.05))
    photo = paper_photo(
        lambda _height, _stroke, r: coverage(writer, digit, height, r),
        rng,
        frame=frame,
        rotation=1.5,
    )
    return jpeg_bytes(photo, 90)


def number_sample(writer: Writer, text: str, rng: np.random.Generator) -> bytes:
    """One JPEG photo of the number ``text`` written by ``writer`` on one line, digits apart."""
    frame = (1024, 480)
    height = int(0.3 * min(frame) * rng.uniform(0.95, 1.05))

    def line(_height: int, _stroke: float | None, r: np.random.Generator) -> np.ndarray:
        covs = [coverage(writer, int(d), height, r) for d in text]
        return _lay_out(covs, [0.0] * len(covs), height, r, gaps=(0.25, 0.45))

    return jpeg_bytes(paper_photo(line, rng, frame=frame, rotation=1.0), 90)
