"""Realistic uploads of whole numbers written by hand, built from MNIST **test** digits.

Each number is 2-8 MNIST test digits of one writer's pen, written along a wavy baseline with
uneven sizes, slants and gaps, then photographed (paper, light, blur, noise, JPEG, as in
``testkit.uploads``) or exported from a drawing pad. A quarter of the numbers start with 0.
``generate(kind, n, seed=...)`` is deterministic and returns encoded bytes with the true text.
"""

from __future__ import annotations

import functools
import zlib
from dataclasses import dataclass

import numpy as np
from PIL import Image

from testkit.uploads import drawing_export, jpeg_bytes, paper_photo, stroke_coverage

# kind: (fewest digits, most digits, gap range in digit heights, medium, frame)
_KINDS: dict[str, tuple[int, int, tuple[float, float], str, tuple[int, int] | None]] = {
    "photo_2to5": (2, 5, (0.12, 0.45), "photo", None),
    "pad_2to5": (2, 5, (0.12, 0.45), "pad", None),
    "photo_6to8": (6, 8, (0.12, 0.4), "photo", None),
    "photo_touching": (2, 5, (-0.12, -0.02), "photo", None),
    "pad_touching": (2, 5, (-0.12, -0.02), "pad", None),
    "photo_12mp_6digits": (6, 6, (0.12, 0.4), "photo", (4000, 3000)),
}
KINDS = tuple(_KINDS)
SEPARATED_KINDS = ("photo_2to5", "pad_2to5", "photo_6to8")
TOUCHING_KINDS = ("photo_touching", "pad_touching")


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
    covs, tops = [], []
    for digit in digits:
        size = max(8, round(height * rng.uniform(0.88, 1.08)))
        cov = stroke_coverage(digit, size, rng, stroke=stroke)
        angle = rng.uniform(-5, 5)
        if abs(angle) > 0.05:
            im = Image.fromarray(cov, mode="F").rotate(angle, Image.Resampling.BICUBIC, expand=True)
            cov = np.clip(np.asarray(im), 0, 1).astype(np.float32)
        # Spacing is measured between the inks, not between the padded boxes.
        ys = np.flatnonzero(cov.max(axis=1) > 0.05)
        xs = np.flatnonzero(cov.max(axis=0) > 0.05)
        covs.append(cov[ys[0] : ys[-1] + 1, xs[0] : xs[-1] + 1])
    # The baseline wanders a little; digits of a number sit roughly on it.
    drift = rng.uniform(-0.06, 0.06) * height
    for i, cov in enumerate(covs):
        tops.append(drift * i + rng.uniform(-0.05, 0.05) * height - cov.shape[0])
    lefts, x = [], 0.0
    for i, cov in enumerate(covs):
        if i:
            x += rng.uniform(*gaps) * height
        lefts.append(round(x))
        x += cov.shape[1]
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


def _fit(cov: np.ndarray, width: int, height: int) -> np.ndarray:
    """Shrink coverage that would not fit in (width, height)."""
    factor = min(1.0, width / cov.shape[1], height / cov.shape[0])
    if factor >= 1.0:
        return cov
    size = (max(1, int(cov.shape[1] * factor)), max(1, int(cov.shape[0] * factor)))
    return np.array(Image.fromarray(cov, mode="F").resize(size, Image.Resampling.BILINEAR))


def _pick(count: int, rng: np.random.Generator, labels: np.ndarray) -> tuple[list[int], list[int]]:
    wanted = [int(rng.integers(10)) for _ in range(count)]
    if rng.random() < 0.25:
        wanted[0] = 0
    indices = []
    for digit in wanted:
        pool = np.flatnonzero(labels == digit)
        indices.append(int(rng.choice(pool)))
    return wanted, indices


def _render(kind: str, digits: list[np.ndarray], rng: np.random.Generator) -> tuple[bytes, str]:
    _, _, gaps, medium, frame = _KINDS[kind]
    if medium == "pad":
        cw = int(rng.choice([600, 800, 1000]))
        ch = int(cw * rng.choice([0.3, 0.4, 0.5]))
        height = int(rng.uniform(0.45, 0.75) * ch)
        stroke = rng.uniform(0.06, 0.14) if rng.random() < 0.75 else None
        cov = _fit(line_coverage(digits, height, rng, stroke=stroke, gaps=gaps), cw * 0.92, ch)
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
        cov = line_coverage(digits, height, rng, stroke=stroke, gaps=gaps)
        return _fit(cov, 0.9 * w, 0.9 * h)

    # The line spans a third to most of the frame's width.
    span = rng.uniform(0.35, 0.85) * w / (0.85 * len(digits))
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
    MNIST test set.
    """
    if kind not in _KINDS:
        raise ValueError(f"unknown kind {kind!r}; choose from {', '.join(KINDS)}")
    if images is None or labels is None:
        images, labels = _mnist_test()
    rng = np.random.default_rng([seed, zlib.crc32(kind.encode())])
    fewest, most = _KINDS[kind][:2]
    uploads = []
    for i in range(n):
        wanted, indices = _pick(int(rng.integers(fewest, most + 1)), rng, labels)
        data, ext = _render(kind, [images[j] for j in indices], rng)
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
