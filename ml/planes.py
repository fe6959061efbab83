"""An image made ready for float work: fitted to the working size and flattened to float planes.

Also the small robust statistics (median, percentile) the ink stages take many of.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

# All float work happens at or below this size; above it the image is box-reduced first.
WORK_LONG_SIDE = 256
# Tiny images are upscaled first so that filter sizes and stroke estimates stay meaningful.
MIN_WORK_LONG_SIDE = 96


def resizable(image: Image.Image) -> Image.Image:
    """Convert modes Pillow cannot resample (palette, bilevel, 16-bit) to ones it can."""
    if image.mode in ("P", "1", "PA"):
        keep_alpha = "transparency" in image.info or image.mode == "PA"
        return image.convert("RGBA" if keep_alpha else "RGB")
    if image.mode.startswith("I;16"):
        return image.convert("I")
    return image


def fit_long_side(image: Image.Image, long_side: int) -> Image.Image:
    """Shrink (box filter, in C) or enlarge (bilinear) so the long side is about ``long_side``."""
    w, h = image.size
    current = max(w, h)
    if current > long_side:
        factor = math.ceil(current / long_side)
        return resizable(image).reduce(factor) if factor > 1 else image
    if current < MIN_WORK_LONG_SIDE:
        factor = math.ceil(MIN_WORK_LONG_SIDE / current)
        return resizable(image).resize((w * factor, h * factor), Image.Resampling.BILINEAR)
    return image


def fitted_long_side(current: int, long_side: int) -> float:
    """The long side ``fit_long_side`` gives an image whose long side is ``current``."""
    if current > long_side:
        return current / math.ceil(current / long_side)
    if current < MIN_WORK_LONG_SIDE:
        return current * math.ceil(MIN_WORK_LONG_SIDE / current)
    return current


def to_float_planes(image: Image.Image) -> np.ndarray:
    """Flatten any mode to float32 (h, w, c) in [0, 1], c in {1, 3}, alpha composited on white."""
    mode = image.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        arr = np.asarray(image, dtype=np.float32)
        if arr.ndim != 2:
            arr = arr.reshape(image.height, image.width)
        top = float(arr.max()) if arr.size else 0.0
        denom = 65535.0 if mode.startswith("I;16") or top > 255 else (1.0 if top <= 1 else 255.0)
        return np.clip(arr / denom, 0, 1)[..., None]
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        mode in ("P", "L", "RGB") and "transparency" in image.info
    )
    if has_alpha:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba).convert("RGB")
    elif mode in ("1", "L"):
        image = image.convert("L")
    elif mode != "RGB":
        image = image.convert("RGB")
    arr8 = np.asarray(image)
    if arr8.ndim == 3:
        sample = arr8[::4, ::4].astype(np.int16)
        # Grey images saved as RGB need one plane, not three.
        if int(np.abs(sample - sample[..., :1]).max()) <= 2:
            arr8 = arr8[..., 1]
    planes = arr8.astype(np.float32) * np.float32(1 / 255)
    return planes[..., None] if planes.ndim == 2 else planes


def on_black(image: Image.Image) -> np.ndarray:
    rgba = image.convert("RGBA")
    black = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
    return np.asarray(Image.alpha_composite(black, rgba).convert("RGB"), dtype=np.float32) / 255


def mean_plane(planes: np.ndarray) -> np.ndarray:
    """``planes.mean(axis=2)``, bit for bit, without numpy's slow strided reduction."""
    if planes.shape[2] == 1:
        return planes[..., 0]
    return (planes[..., 0] + planes[..., 1] + planes[..., 2]) / 3


def median(values: np.ndarray) -> np.floating:
    """``np.median`` of a 1-D array (the same value) without its generic machinery, which
    dominates on the many small arrays to_mnist takes medians of."""
    n = values.size
    half = n // 2
    part = np.partition(values, half)
    if n % 2:
        return part[half]
    # The element below the middle is the largest of the lower half: one partition, not two
    # (numpy's partition at two places is several times slower than at one).
    return (part[:half].max() + part[half]) / 2


def percentile(values: np.ndarray, q: int) -> np.floating:
    """``np.percentile(values, q)`` of a 1-D array (linear method; numpy 2.4 may differ in the
    last bits) without its generic machinery (dear on the small arrays of a
    candidate piece's crop)."""
    n = values.size
    virtual = n * (q / 100) + (1 + (q / 100) * -1) - 1
    lo = min(max(math.floor(virtual), 0), n - 1)
    hi = min(lo + 1, n - 1)
    part = np.partition(values, hi)
    a, b = (part[:hi].max() if hi > lo else part[hi]), part[hi]
    t = virtual - lo
    diff = b - a
    return b - diff * (1 - t) if t >= 0.5 else a + diff * t
