"""Training images MNIST lacks: the 1 written with a flag (a nose), as most of the world writes it.

MNIST's writers were American: nearly all its 1s are a bare stroke, so a 1 written with a flag
(more so with a foot) reads as a 7. ``with_flagged_ones`` adds copies of half the training 1s
with a flag drawn on in the 1's own pen, normalised as every crop is served.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

from ml.crop import normalise_crop

# Added copies, as a share of the training 1s. The flag's length is in the 1's heights, its
# angle in degrees below the horizontal; some get a foot (a bar along the bottom) too.
FLAGGED_SHARE = 0.5
FLAG_LENGTH = (0.2, 0.5)
FLAG_ANGLE = (20.0, 60.0)
FOOT_SHARE = 0.25
FOOT_WIDTH = (0.35, 0.65)
_SCALE = 4


def flag_one(image: np.ndarray, rng: np.random.Generator) -> np.ndarray | None:
    """``image`` (28, 28) of a 1 (uint8 0..255 or float 0..1) with a flag, and sometimes a
    foot, in its own stroke width: (28, 28) uint8 in MNIST's format, or None if it holds no ink."""
    a = np.asarray(image, dtype=np.float32)
    if a.max() > 1.5:
        a = a / 255
    ink = a > 0.3
    rows = np.flatnonzero(ink.any(axis=1))
    if len(rows) < 4:
        return None
    top, bottom = int(rows[0]), int(rows[-1])
    height = bottom - top + 1
    width = float(a.sum()) / height
    big = Image.fromarray(a, mode="F").resize((28 * _SCALE, 28 * _SCALE), Image.Resampling.BILINEAR)
    pad = 28 * _SCALE
    canvas = Image.new("F", (3 * pad, 3 * pad), 0.0)
    canvas.paste(big, (pad, pad))
    draw = ImageDraw.Draw(canvas)
    pen = max(2, round(np.clip(width, 1.5, 4.5) * _SCALE))

    def at(y: int) -> tuple[float, float]:
        xs = np.flatnonzero(ink[y])
        return pad + (float(xs.mean()) + 0.5) * _SCALE, pad + (y + 0.5) * _SCALE

    x0, y0 = at(top)
    length = rng.uniform(*FLAG_LENGTH) * height * _SCALE
    angle = math.radians(rng.uniform(*FLAG_ANGLE))
    x1, y1 = x0 - length * math.cos(angle), y0 + length * math.sin(angle)
    draw.line([(x0, y0), (x1, y1)], fill=1.0, width=pen)
    if rng.random() < FOOT_SHARE:
        fx, fy = at(bottom)
        half = rng.uniform(*FOOT_WIDTH) * height * _SCALE / 2
        draw.line([(fx - half, fy), (fx + half, fy)], fill=1.0, width=pen)
    soft = np.clip(np.asarray(canvas, dtype=np.float32), 0, 1)
    ys = np.flatnonzero(soft.max(axis=1) > 0.05)
    xs = np.flatnonzero(soft.max(axis=0) > 0.05)
    out = normalise_crop(soft[ys[0] : ys[-1] + 1, xs[0] : xs[-1] + 1])
    if out is None:
        return None
    return np.round(out * 255).astype(np.uint8)


def with_flagged_ones(
    X: np.ndarray,
    y: np.ndarray,
    *,
    share: float = FLAGGED_SHARE,
    random_state: int = 0,
    sample_weight: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``X`` (n, 28, 28), ``y`` (n,) and ``sample_weight`` with flagged copies of ``share`` of
    the 1s appended (each copy weighs what its 1 did). X comes back as uint8 0..255."""
    rng = np.random.default_rng(random_state)
    X = np.asarray(X)
    if X.dtype != np.uint8:
        X = np.round(np.clip(X, 0, 1) * 255).astype(np.uint8)
    ones = np.flatnonzero(np.asarray(y) == 1)
    picked = rng.choice(ones, size=round(share * len(ones)), replace=False) if len(ones) else ones
    made, sources = [], []
    for i in np.sort(picked):
        flagged = flag_one(X[i], rng)
        if flagged is not None:
            made.append(flagged)
            sources.append(i)
    if not made:
        return X, np.asarray(y), sample_weight
    sources = np.asarray(sources)
    X = np.concatenate([X, np.stack(made)])
    y = np.concatenate([np.asarray(y), np.asarray(y)[sources]])
    if sample_weight is not None:
        sample_weight = np.concatenate([sample_weight, np.asarray(sample_weight)[sources]])
    return X, y, sample_weight
