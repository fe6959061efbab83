"""Decode untrusted image bytes safely and turn any image into the model's 28x28 MNIST-style input.

``load_image`` is the only place where upload bytes are decoded; ``to_mnist`` is the only place
where an image becomes model input. The web upload, the ``classify`` command and the benchmark
all go through these two functions.
"""

from __future__ import annotations

import functools
import io
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO, TypeVar

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError
from scipy import ndimage as ndi

ALLOWED_FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF")
MAX_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 40_000_000

# JPEGs are decoded at a reduced scale (DCT scaling in draft mode) whose long side stays at least
# this big: enough for a digit at 5% of the frame, and 16x less work than a 12 MP decode.
DRAFT_LONG_SIDE = 480
# All float work happens at or below this size; above it the image is box-reduced first.
WORK_LONG_SIDE = 256
# A digit found smaller than this (in working pixels) is looked at again, cropped from the
# decoded image at up to REFINE_LONG_SIDE pixels, so thin pen strokes are not lost.
REFINE_BELOW = 64
REFINE_LONG_SIDE = 160
# ...but only if that crop shows the digit in at least this many times the working pixels: a
# digit just under REFINE_BELOW in a 2x photo gains nothing from a second look.
REFINE_MIN_GAIN = 1.3
# A digit is longer than this many of its stroke widths. Measured: MNIST test >= 3.1, generated
# photos and drawings >= 2.3 (a "0" whose shaded inside was read as ink); a click on the drawing
# pad 1.7-1.9, up to 2.1 with a few pixels of drag.
MIN_LENGTH_IN_STROKES = 2.1
# Tiny images are upscaled first so that filter sizes and stroke estimates stay meaningful.
MIN_WORK_LONG_SIDE = 96

# MNIST digits fit a 20x20 box and have their centre of mass at (14, 14) (measured: 13.99, 14.00).
BOX = 20
SIZE = 28
# Median stroke width of MNIST digits in 20x20-box pixels is 2.8 (2*area/boundary at 0.5);
# thinner strokes (pens photographed large) are thickened up to this before downscaling.
TARGET_STROKE = 2.6

_ALLOWED_SIGNATURES = (
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff",
    b"GIF87a",
    b"GIF89a",
    b"BM",
    b"II*\x00",
    b"MM\x00*",
)
_MAGIC_NAMES: tuple[tuple[bytes, int, str], ...] = (
    (b"%PDF", 0, "PDF"),
    (b"\x00\x00\x01\x00", 0, "ICO"),
    (b"\x00\x00\x02\x00", 0, "CUR"),
    (b"<svg", 0, "SVG"),
    (b"<?xml", 0, "SVG/XML"),
    (b"8BPS", 0, "PSD"),
    (b"ftypheic", 4, "HEIC"),
    (b"ftypheix", 4, "HEIC"),
    (b"ftypmif1", 4, "HEIF"),
    (b"ftypavif", 4, "AVIF"),
    (b"\x00\x00\x00\x0cjP  ", 0, "JPEG 2000"),
    (b"\xff\x4f\xff\x51", 0, "JPEG 2000"),
)

_MESSAGES = {
    "empty": "The file is empty.",
    "too_large": "The file is too large (the limit is {limit}).",
    "not_an_image": "This file is not an image we can read.",
    "unsupported_format": (
        "{fmt} images are not supported. Please upload a PNG, JPEG, WebP, GIF, BMP or TIFF file."
    ),
    "too_many_pixels": (
        "The image is too big ({w} x {h} pixels); the limit is {limit} megapixels."
    ),
    "truncated": "The image file is truncated or damaged and cannot be decoded.",
    "no_digit": (
        "No digit found in the image. Please upload a clear picture of one handwritten digit."
    ),
}


class ImageRejected(ValueError):
    """An upload that cannot be used. ``code`` is machine-readable, ``message`` is for users.

    Codes: empty, too_large, not_an_image, unsupported_format, too_many_pixels, truncated, no_digit.
    """

    def __init__(self, code: str, message: str | None = None) -> None:
        self.code = code
        self.message = message if message is not None else _MESSAGES[code]
        super().__init__(self.message)


class NoDigitFound(ImageRejected):
    """The image decodes fine but holds no digit-like ink (blank, near-blank or pure noise)."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__("no_digit", message)


# --------------------------------------------------------------------------------------- decoding


def _read_bounded(source: bytes | bytearray | memoryview | BinaryIO, max_bytes: int) -> bytes:
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
    else:
        # Read one byte past the limit so an oversized stream is refused without reading it all.
        data = source.read(max_bytes + 1)
        if not isinstance(data, bytes | bytearray):
            raise ImageRejected("not_an_image")
        data = bytes(data)
    if not data:
        raise ImageRejected("empty")
    if len(data) > max_bytes:
        raise ImageRejected(
            "too_large", _MESSAGES["too_large"].format(limit=_human_bytes(max_bytes))
        )
    return data


def _human_bytes(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):g} MB"
    if n >= 1024:
        return f"{n / 1024:g} KB"
    return f"{n} bytes"


def _looks_allowed(data: bytes) -> bool:
    """Whether the bytes start with the signature of one of ALLOWED_FORMATS."""
    return data.startswith(_ALLOWED_SIGNATURES) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")


def _unsupported_name(data: bytes) -> str | None:
    """Name the format of bytes Pillow may not accept here, so users get a precise sentence."""
    for magic, offset, name in _MAGIC_NAMES:
        if data[offset : offset + len(magic)] == magic:
            return name
    try:
        # Identification only parses the header; nothing is decoded.
        with Image.open(io.BytesIO(data)) as im:
            return str(im.format or "This")
    except Exception:
        return None


def reduce_on_decode(im: Image.Image) -> None:
    """Set a large JPEG, opened but not yet loaded, to decode at a reduced scale (draft mode, long
    side >= DRAFT_LONG_SIDE): ``im.size`` then says what the decode will make, before it runs."""
    w, h = im.size
    if im.format in ("JPEG", "MPO") and max(w, h) > 2 * DRAFT_LONG_SIDE:
        scale = DRAFT_LONG_SIDE / max(w, h)
        im.draft(im.mode, (math.ceil(w * scale), math.ceil(h * scale)))


def load_image(
    source: bytes | BinaryIO,
    *,
    max_bytes: int = MAX_BYTES,
    max_pixels: int = MAX_PIXELS,
) -> Image.Image:
    """Decode untrusted image bytes into a fully loaded, upright PIL image.

    ``source`` is bytes or a binary file object (read from its current position, at most
    ``max_bytes + 1`` bytes). Accepts PNG, JPEG, WebP, GIF (first frame), BMP and TIFF; checks the
    header size against ``max_pixels`` before decoding; decodes large JPEGs at reduced scale
    (draft mode, long side >= DRAFT_LONG_SIDE); applies EXIF orientation.

    Returns a loaded ``PIL.Image.Image`` in whatever mode the file has. Every failure raises
    ``ImageRejected`` with a code and a human sentence; no other exception escapes for bad bytes.
    """
    data = _read_bounded(source, max_bytes)
    # The pixel bound is ours, checked from the header below. Pillow's own bomb check only warns
    # below twice its MAX_IMAGE_PIXELS; turning that warning into an error would mean changing the
    # process-wide warning filters, which is not thread-safe.
    try:
        im = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
    except UnidentifiedImageError:
        if _looks_allowed(data):
            # The signature of a format we accept, but the header does not parse.
            raise ImageRejected("truncated") from None
        name = _unsupported_name(data)
        if name is None:
            raise ImageRejected("not_an_image") from None
        raise ImageRejected(
            "unsupported_format", _MESSAGES["unsupported_format"].format(fmt=name)
        ) from None
    except Image.DecompressionBombError:
        raise ImageRejected(
            "too_many_pixels", "The image has too many pixels to be processed safely."
        ) from None
    except Exception:
        raise ImageRejected("truncated" if _looks_allowed(data) else "not_an_image") from None

    try:
        w, h = im.size
    except Exception:
        raise ImageRejected("not_an_image") from None
    if w <= 0 or h <= 0:
        raise ImageRejected("not_an_image")
    if w * h > max_pixels:
        raise ImageRejected(
            "too_many_pixels",
            _MESSAGES["too_many_pixels"].format(w=w, h=h, limit=f"{max_pixels / 1e6:g}"),
        )
    try:
        reduce_on_decode(im)
        im.seek(0)
        im.load()
    except Image.DecompressionBombError:
        raise ImageRejected(
            "too_many_pixels", "The image has too many pixels to be processed safely."
        ) from None
    except MemoryError:
        raise ImageRejected(
            "too_many_pixels", "The image is too big to be processed safely."
        ) from None
    except Exception:
        # Truncated data, corrupt compressed streams and broken frames all end here.
        raise ImageRejected("truncated") from None
    if im.width * im.height > max_pixels:
        raise ImageRejected("too_many_pixels")

    try:
        upright = ImageOps.exif_transpose(im)
    except Exception:
        # A malformed EXIF block should not cost the user their upload; keep the pixels as stored.
        upright = im
    return upright if upright is not None else im


# ---------------------------------------------------------------------------------- preprocessing


def _resizable(image: Image.Image) -> Image.Image:
    """Convert modes Pillow cannot resample (palette, bilevel, 16-bit) to ones it can."""
    if image.mode in ("P", "1", "PA"):
        keep_alpha = "transparency" in image.info or image.mode == "PA"
        return image.convert("RGBA" if keep_alpha else "RGB")
    if image.mode.startswith("I;16"):
        return image.convert("I")
    return image


def _fit_long_side(image: Image.Image, long_side: int) -> Image.Image:
    """Shrink (box filter, in C) or enlarge (bilinear) so the long side is about ``long_side``."""
    w, h = image.size
    current = max(w, h)
    if current > long_side:
        factor = math.ceil(current / long_side)
        return _resizable(image).reduce(factor) if factor > 1 else image
    if current < MIN_WORK_LONG_SIDE:
        factor = math.ceil(MIN_WORK_LONG_SIDE / current)
        return _resizable(image).resize((w * factor, h * factor), Image.Resampling.BILINEAR)
    return image


def _fitted_long_side(current: int, long_side: int) -> float:
    """The long side ``_fit_long_side`` gives an image whose long side is ``current``."""
    if current > long_side:
        return current / math.ceil(current / long_side)
    if current < MIN_WORK_LONG_SIDE:
        return current * math.ceil(MIN_WORK_LONG_SIDE / current)
    return current


def _to_float_planes(image: Image.Image) -> np.ndarray:
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


def _mean_plane(planes: np.ndarray) -> np.ndarray:
    """``planes.mean(axis=2)``, bit for bit, without numpy's slow strided reduction."""
    if planes.shape[2] == 1:
        return planes[..., 0]
    return (planes[..., 0] + planes[..., 1] + planes[..., 2]) / 3


def _median(values: np.ndarray) -> np.floating:
    """``np.median`` of a 1-D array (the same value) without its generic machinery: to_mnist
    takes about 50 medians of small arrays, where that overhead was most of their cost."""
    n = values.size
    half = n // 2
    part = np.partition(values, half)
    if n % 2:
        return part[half]
    # The element below the middle is the largest of the lower half: one partition, not two
    # (numpy's partition at two places is several times slower than at one).
    return (part[:half].max() + part[half]) / 2


def _percentile(values: np.ndarray, q: int) -> np.floating:
    """``np.percentile(values, q)`` of a 1-D array (linear method; numpy 2.4 may differ in the
    last bits) without its generic machinery, which was a tenth of the cost of cropping a
    candidate piece of a number."""
    n = values.size
    virtual = n * (q / 100) + (1 + (q / 100) * -1) - 1
    lo = min(max(math.floor(virtual), 0), n - 1)
    hi = min(lo + 1, n - 1)
    part = np.partition(values, hi)
    a, b = (part[:hi].max() if hi > lo else part[hi]), part[hi]
    t = virtual - lo
    diff = b - a
    return b - diff * (1 - t) if t >= 0.5 else a + diff * t


@functools.lru_cache(maxsize=8)
def _design(gh: int, gw: int) -> np.ndarray:
    yy, xx = np.mgrid[0:gh, 0:gw]
    yy = yy / max(gh - 1, 1) - 0.5
    xx = xx / max(gw - 1, 1) - 0.5
    return np.stack([np.ones_like(xx), xx, yy, xx * xx, yy * yy, xx * yy], axis=-1).reshape(-1, 6)


def _fit_background(plane: np.ndarray, *, subtract: bool = False) -> np.ndarray:
    """Robust quadratic fit of the slowly varying background (uneven light), shape of ``plane``;
    with ``subtract``, ``plane`` less the fit (the residual), computed in the fit's buffer."""
    h, w = plane.shape
    gh, gw = min(h, 32), min(w, 32)
    small = Image.fromarray(plane, mode="F").resize((gw, gh), Image.Resampling.BOX)
    values = np.asarray(small, dtype=np.float64).reshape(-1)
    design = _design(gh, gw)
    # Start from a constant at the median: the background is the majority of blocks, so the
    # first inlier set excludes the ink even when the digit is large.
    coef = np.zeros(6)
    coef[0] = _median(values)
    resid = values - coef[0]
    for _ in range(3):
        centre = _median(resid)
        deviation = np.abs(resid - centre)
        mad = _median(deviation)
        keep = deviation < 3 * 1.4826 * mad + 0.02
        if keep.sum() < 12:
            break
        # Normal equations on a 6x6 system: LAPACK's lstsq is far slower at this size.
        kept = design[keep]
        coef = np.linalg.solve(kept.T @ kept + 1e-9 * np.eye(6), kept.T @ values[keep])
        resid = values - design @ coef
    c = coef.astype(np.float32)
    ys = np.linspace(-0.5, 0.5, h, dtype=np.float32)[:, None]
    xs = np.linspace(-0.5, 0.5, w, dtype=np.float32)[None, :]
    # (c0 + c1 x + c3 x^2) + (c2 + c4 y + c5 x) y, in place: the same arithmetic without three
    # image-sized temporaries.
    fit = np.add(c[2] + c[4] * ys, c[5] * xs)
    fit *= ys
    np.add(c[0] + c[1] * xs + c[3] * xs * xs, fit, out=fit)
    return np.subtract(plane, fit, out=fit) if subtract else fit


def _ink_map(planes: np.ndarray) -> tuple[np.ndarray, float]:
    """Per-pixel ink strength (h, w) float32 >= 0 relative to the background, and noise sigma."""
    # One contiguous image per channel: the channel views of (h, w, c) are strided, and each is
    # read several times.
    resid = [
        _fit_background(np.ascontiguousarray(planes[..., c]), subtract=True)
        for c in range(planes.shape[2])
    ]
    # The noise and the polarity are judged on every other pixel, so only the side chosen is
    # worked out in full (in the residuals' own buffers: they are not needed after).
    sub = [r[::2, ::2] for r in resid]
    if len(resid) == 1:
        lum = sub[0]
        dark, light = -lum, lum
    else:
        lum = (sub[0] + sub[1] + sub[2]) / 3
        dark = -np.minimum(np.minimum(sub[0], sub[1]), sub[2])
        light = np.maximum(np.maximum(sub[0], sub[1]), sub[2])
    sample = lum.ravel()
    sigma = float(1.4826 * _median(np.abs(sample - _median(sample)))) + 1e-3
    # Ink is the minority that departs strongly from the background; its side gives the polarity.
    floor = np.float32(4 * sigma + 0.05)
    dark_mass = float(np.maximum(dark - floor, 0).sum())
    light_mass = float(np.maximum(light - floor, 0).sum())
    first = resid[0]
    if dark_mass >= light_mass:
        for other in resid[1:]:
            np.minimum(first, other, out=first)
        return np.negative(first, out=first), sigma
    for other in resid[1:]:
        np.maximum(first, other, out=first)
    return first, sigma


# Components are 8-connected.
_CONNECTED = np.ones((3, 3), dtype=bool)


def _hysteresis(ink: np.ndarray, *, low: float, high: float) -> tuple[np.ndarray, np.ndarray, int]:
    """Pixels above ``low`` connected to pixels above ``high``: faint stretches of a stroke
    (pencil, a pen running dry, shade) stay attached to the stroke instead of breaking it.

    Returns (mask, labels, n): the mask's components numbered 1..n as ``ndi.label`` numbers
    them (in the order of their first pixel), so they need not be labelled again.
    """
    weak = ink > low
    labels, n = ndi.label(weak, structure=_CONNECTED)
    if n == 0:
        return weak, labels, 0
    seeded = np.zeros(n + 1, dtype=bool)
    seeded[np.unique(labels[ink > high])] = True
    seeded[0] = False
    number = np.cumsum(seeded, dtype=np.int32)
    count = int(number[-1])
    number[~seeded] = 0
    kept = number[labels]
    return kept > 0, kept, count


def _component_scores(
    mask: np.ndarray, strength: np.ndarray, labels: np.ndarray, n: int, *, allow_border: bool
) -> tuple[np.ndarray, np.ndarray, list]:
    """Score each of the components ``labels`` (1..n, 8-connected) of ``mask`` as a candidate
    for ink of a digit.

    Returns (scores, mass, slices); a score of 0 marks a speck, an edge or a shadow.
    """
    if n == 0:
        return np.zeros(0), np.zeros(0), []
    # Counted over the marks' pixels only, in the same order: most of a photo is paper, and
    # counting it (as label 0) cost more than the rest of the scoring.
    flat = labels[mask]
    areas = np.bincount(flat, minlength=n + 1)[1:]
    mass = np.bincount(flat, weights=strength[mask], minlength=n + 1)[1:]
    slices = ndi.find_objects(labels)
    h, w = mask.shape
    diag = math.hypot(h, w)
    min_area = max(3.0, 0.00015 * h * w)
    scores = np.zeros(n)
    for i in np.flatnonzero(areas >= min_area):
        sl = slices[i]
        if sl is None:
            continue
        y0, y1, x0, x1 = sl[0].start, sl[0].stop, sl[1].start, sl[1].stop
        bh, bw = y1 - y0, x1 - x0
        cy, cx = (y0 + y1) / 2, (x0 + x1) / 2
        dist = math.hypot(cy - h / 2, cx - w / 2) / diag
        score = mass[i] / (1 + 8 * dist * dist)
        top, bottom, left, right = y0 == 0, y1 == h, x0 == 0, x1 == w
        if not allow_border and (top or bottom or left or right):
            # The sheet's edge, the table behind it or a shadow: a band along a side of the
            # frame, long along it and shallow across it. A digit touching the frame is not.
            band = ((top or bottom) and bw > 0.5 * w and bh < 0.2 * h) or (
                (left or right) and bh > 0.5 * h and bw < 0.2 * w
            )
            if band or (top and bottom and bw < 0.2 * w) or (left and right and bh < 0.2 * h):
                continue
            score *= 0.5
        if max(bh, bw) > 8 * max(1, min(bh, bw)) and max(bh / h, bw / w) > 0.6:
            score *= 0.1
        scores[i] = score
    return scores, mass, slices


def _select_digit(
    mask: np.ndarray, strength: np.ndarray, labels: np.ndarray, n: int, *, allow_border: bool
) -> np.ndarray:
    """Keep the connected components that make up the digit; drop specks, edges and shadows."""
    scores, mass, slices = _component_scores(mask, strength, labels, n, allow_border=allow_border)
    if n == 0 or scores.max() <= 0:
        return np.zeros_like(mask)
    main = int(np.argmax(scores))
    keep = {main}
    sl = slices[main]
    y0, y1, x0, x1 = sl[0].start, sl[0].stop, sl[1].start, sl[1].stop
    main_mass = mass[main]
    for _ in range(2):
        size = max(y1 - y0, x1 - x0)
        margin = 0.3 * size
        for i in np.flatnonzero(scores > 0):
            s = slices[i]
            if i in keep or s is None or mass[i] < 0.03 * main_mass:
                continue
            if (
                s[0].start < y1 + margin
                and s[0].stop > y0 - margin
                and s[1].start < x1 + margin
                and s[1].stop > x0 - margin
            ):
                ny0, ny1 = min(y0, s[0].start), max(y1, s[0].stop)
                nx0, nx1 = min(x0, s[1].start), max(x1, s[1].stop)
                # Do not let a neighbour turn the digit into a wide blob (e.g. a second digit).
                if max(ny1 - ny0, nx1 - nx0) <= 1.6 * size:
                    keep.add(i)
                    y0, y1, x0, x1 = ny0, ny1, nx0, nx1
    lookup = np.zeros(n + 1, dtype=bool)
    lookup[np.array(sorted(keep)) + 1] = True
    return lookup[labels]


def _without_ruled_lines(mask: np.ndarray) -> np.ndarray:
    """Remove the printed lines of ruled or squared paper from an ink mask.

    Paper lines are straight runs across most of the frame: several horizontal ones (each over
    60% of the width), or a vertical margin line from top to bottom. One long horizontal run
    alone may be a digit's own stroke, so it is kept.
    """
    h, w = mask.shape
    lines = np.zeros_like(mask)
    for axis, fraction, needed in ((1, 0.6, 2), (0, 0.95, 1)):
        length = int(fraction * (w if axis == 1 else h))
        # A run of `length` needs at least that many pixels in one row (column): usually none
        # has, and the filters below can be skipped.
        if length < 24 or mask.sum(axis=axis).max() < length:
            continue
        opened = ndi.maximum_filter1d(
            ndi.minimum_filter1d(mask, length, axis=axis), length, axis=axis
        )
        _, count = ndi.label(opened)
        if count >= needed:
            lines |= opened.astype(bool)
    if not lines.any():
        return mask
    # Keep a line's pixels where it crosses a stroke: the stroke is wider there than the line.
    return mask & ~(lines & ~ndi.binary_opening(mask, structure=np.ones((3, 3), dtype=bool)))


def interior(mask: np.ndarray) -> np.ndarray:
    """The ink of ``mask`` (h, w) bool whose four neighbours are all ink, nothing outside the
    frame counting as ink: ``ndi.binary_erosion(mask, border_value=0)``, from slices (the
    erosion's set-up cost more than the work on a crop, and 14 times it on a photo)."""
    inner = np.zeros_like(mask)
    inner[1:-1, 1:-1] = mask[1:-1, 1:-1] & mask[:-2, 1:-1] & mask[2:, 1:-1]
    inner[1:-1, 1:-1] &= mask[1:-1, :-2] & mask[1:-1, 2:]
    return inner


def _stroke_width(mask: np.ndarray) -> float:
    """Typical stroke width in pixels of a binary mask: 2 * area / boundary length."""
    area = int(np.count_nonzero(mask))
    if area == 0:
        return 0.0
    boundary = float(area - np.count_nonzero(interior(mask)))
    return 2 * float(area) / max(boundary, 1.0)


def _crop_to(soft: np.ndarray, fraction: float) -> np.ndarray:
    """Crop to the rows/columns where ``soft`` exceeds ``fraction`` of its maximum."""
    mask = soft > fraction * float(soft.max())
    if not mask.any():
        return soft
    ys = np.flatnonzero(mask.any(axis=1))
    xs = np.flatnonzero(mask.any(axis=0))
    return soft[ys[0] : ys[-1] + 1, xs[0] : xs[-1] + 1]


def _place(box_image: np.ndarray) -> np.ndarray:
    """Paste a <=20x20 digit into 28x28 with its centre of mass at (14, 14)."""
    h, w = box_image.shape
    total = box_image.sum()
    if total > 0:
        # ndi.center_of_mass's arithmetic without its set-up.
        cy = float((box_image * np.arange(h, dtype=np.float64)[:, None]).sum() / total)
        cx = float((box_image * np.arange(w, dtype=np.float64)[None, :]).sum() / total)
    else:
        cy, cx = h / 2, w / 2
    oy = min(max(round(14 - cy), 0), SIZE - h)
    ox = min(max(round(14 - cx), 0), SIZE - w)
    out = np.zeros((SIZE, SIZE), dtype=np.float32)
    out[oy : oy + h, ox : ox + w] = box_image
    return out


@dataclass
class _Found:
    soft: np.ndarray  # (h, w) float32 in [0, 1], the digit's ink cropped to its box
    box: tuple[int, int, int, int]  # y0, y1, x0, x1 in the coordinates of the analysed planes


def _sheet_box(planes: np.ndarray) -> tuple[int, int, int, int] | None:
    """The box inside a bright, solid sheet of paper surrounded by a darker frame, if any.

    Returns (y0, y1, x0, x1) shrunk a little inside the sheet's edges, or None when the frame's
    border is not clearly darker than a large solid bright region (the usual case: the paper
    fills the frame, or a drawing's background does).
    """
    lum = _mean_plane(planes)
    h, w = lum.shape
    border = np.concatenate([lum[0], lum[-1], lum[:, 0], lum[:, -1]])
    dark = float(_median(border))
    # The 90th percentile is no brighter than the brightest pixel: most photos are told apart
    # without it (it partitions every pixel, the dearest step here).
    if float(lum.max()) - dark < 0.3 - 1e-6:
        return None
    bright = float(_percentile(lum.ravel(), 90))
    middle = (dark + bright) / 2
    # A table all around, not a vignette or a shadow: most of the border is dark.
    if bright - dark < 0.3 or np.mean(border < middle) < 0.6:
        return None
    labels, n = ndi.label(lum > middle)
    if n == 0:
        return None
    areas = np.bincount(labels.ravel())[1:]
    biggest = int(np.argmax(areas))
    sl = ndi.find_objects(labels)[biggest]
    bh, bw = sl[0].stop - sl[0].start, sl[1].stop - sl[1].start
    # A sheet is big and solid; light strokes on a dark drawing background are neither.
    if bh < 0.25 * h or bw < 0.25 * w or areas[biggest] < 0.8 * bh * bw:
        return None
    if bh > 0.97 * h and bw > 0.97 * w:
        return None
    my, mx = max(1, round(0.03 * bh)), max(1, round(0.03 * bw))
    return sl[0].start + my, sl[0].stop - my, sl[1].start + mx, sl[1].stop - mx


T = TypeVar("T")


class _Binarised:
    """The smoothed ink of some planes and its masks at two thresholds, each worked out once
    however many selections (the digit, every mark) are made from it.

    ``ink`` (h, w) float32 the smoothed ink strength, ``sigma`` its noise level,
    ``thresholds`` the thresholds to try in turn (none when there is no ink).
    """

    def __init__(self, planes: np.ndarray, *, allow_border: bool) -> None:
        self.allow_border = allow_border
        ink, sigma = _ink_map(planes)
        # Light smoothing so that sensor noise does not fragment strokes or survive as specks.
        self.ink = ndi.gaussian_filter(ink, 0.7, truncate=2.5)
        self.sigma = sigma / 2
        self.floor = 4 * self.sigma + 0.03
        self.thresholds: tuple[float, ...] = ()
        self._masks: dict[int, tuple[np.ndarray, np.ndarray, int]] = {}
        if float(self.ink.max()) < max(0.1, 8 * self.sigma):
            return
        strong = self.ink[self.ink > self.floor]
        if strong.size == 0:
            return
        level = float(_percentile(strong, 90))
        # The first threshold follows the strongest ink; if that ink was the table at the edge
        # of the page (dropped), a small faint digit may sit below it, so look again nearer the
        # noise.
        self.thresholds = (max(self.floor, 0.35 * level), 1.5 * self.floor)

    def mask(self, k: int) -> tuple[np.ndarray, np.ndarray, int]:
        """The mask at ``thresholds[k]`` (ruled lines removed unless ``allow_border``) and its
        8-connected components: (mask, labels, n)."""
        if k not in self._masks:
            threshold = self.thresholds[k]
            mask, labels, n = _hysteresis(
                self.ink, low=max(self.floor, 0.5 * threshold), high=threshold
            )
            if not self.allow_border:
                cleaned = _without_ruled_lines(mask)
                if cleaned is not mask:
                    # Removing a ruled line can split a component: label it afresh.
                    mask = cleaned
                    labels, n = ndi.label(mask, structure=_CONNECTED)
            self._masks[k] = (mask, labels, n)
        return self._masks[k]


def _ink_and_selection(
    binarised: _Binarised, select: Callable[..., np.ndarray]
) -> tuple[np.ndarray, float, np.ndarray] | None:
    """Keep what ``select(mask, ink, labels, n)`` keeps of the first of ``binarised``'s masks
    it keeps anything of.

    Returns (ink, sigma, selected): the smoothed ink strength (h, w) float32, its noise sigma and
    the selected (h, w) bool mask; None when there is no ink or ``select`` keeps none.
    """
    for k in range(len(binarised.thresholds)):
        mask, labels, n = binarised.mask(k)
        selected = select(mask, binarised.ink, labels, n)
        if selected.any():
            return binarised.ink, binarised.sigma, selected
    return None


class Analysis:
    """An image made ready to look for ink at about ``long_side`` (or its ``region`` (x0, y0,
    x1, y1)): the fitted image, its planes, the sheet lying on a desk if any, and the ink
    binarised on demand. ``find_marks`` and ``locate_digit`` given the same one share the work.
    Raises ``ImageRejected("not_an_image")`` when the pixels cannot be read.
    """

    def __init__(
        self,
        image: Image.Image,
        *,
        long_side: int = WORK_LONG_SIDE,
        region: tuple[int, int, int, int] | None = None,
    ) -> None:
        try:
            source = _resizable(image) if region is not None else image
            self.crop = source.crop(region) if region is not None else image
            self.work = _fit_long_side(self.crop, long_side)
            self.planes = _to_float_planes(self.work)
        except Exception as exc:
            raise ImageRejected("not_an_image") from exc
        self.image = image
        # A tiny image is all digit; its strokes may touch the frame.
        self.allow_border = region is None and max(image.size) < MIN_WORK_LONG_SIDE
        # A sheet of paper lying on a darker table: its ink is read, not the table.
        self.sheet = None if self.allow_border or region is not None else _sheet_box(self.planes)
        self._binarised: dict[str, _Binarised] = {}

    def binarised(self, part: str) -> _Binarised:
        """The ink of the "sheet", of "all" the frame, or of all of it composited on "black"
        (light strokes on a transparent background vanish on white)."""
        if part not in self._binarised:
            if part == "sheet":
                y0, y1, x0, x1 = self.sheet
                planes, allow_border = self.planes[y0:y1, x0:x1], False
            elif part == "all":
                planes, allow_border = self.planes, self.allow_border
            else:
                planes, allow_border = _on_black(self.work), self.allow_border
            self._binarised[part] = _Binarised(planes, allow_border=allow_border)
        return self._binarised[part]

    def look(self, find: Callable[[_Binarised], T | None]) -> tuple[str, T] | None:
        """What ``find`` finds first in the ink of the sheet (if there is one), of all the frame,
        or (for a transparent image) of it on black, with where: ("sheet", "all" or "black",
        found); None when it finds nothing."""
        parts = ("sheet", "all") if self.sheet is not None else ("all",)
        for part in parts:
            found = find(self.binarised(part))
            if found is not None:
                return part, found
        if "A" in _resizable(self.image).mode:
            found = find(self.binarised("black"))
            if found is not None:
                return "black", found
        return None


# A soft crop takes the ink up to two pixels (4-connected steps) around the selected pixels.
_HALO = 2


def _halo(mask: np.ndarray) -> np.ndarray:
    """``ndi.binary_dilation`` of ``mask`` by the diamond of radius 2 (nothing outside it): the
    3x3 square, row then column, and the four tips. For a crop-sized mask scipy's set-up cost
    more than the work."""
    h, w = mask.shape
    padded = np.zeros((h + 4, w + 4), dtype=bool)
    padded[2:-2, 2:-2] = mask
    across = padded[:, :-2] | padded[:, 1:-1]
    across |= padded[:, 2:]
    out = across[1 : h + 1, 1:-1] | across[2 : h + 2, 1:-1]
    out |= across[3 : h + 3, 1:-1]
    out |= padded[:h, 2:-2]
    out |= padded[4:, 2:-2]
    out |= padded[2:-2, :w]
    out |= padded[2:-2, 4:]
    return out


def _soft_crop(
    ink: np.ndarray,
    sigma: float,
    selected: np.ndarray,
    box: tuple[int, int, int, int],
    *,
    allowed: np.ndarray | None = None,
) -> np.ndarray:
    """Soft ink (antialiased edges) of the ``selected`` pixels within ``box`` (y0, y1, x0, x1),
    plus a small halo, cropped to its strong part: (h', w') float32 in [0, 1]. ``allowed``
    (same shape as ``ink``) bounds the halo, so that a close neighbour's ink stays out."""
    y0, y1, x0, x1 = box
    pad = _HALO
    py0, py1 = max(0, y0 - pad), min(ink.shape[0], y1 + pad)
    px0, px1 = max(0, x0 - pad), min(ink.shape[1], x1 + pad)
    halo = _halo(selected[py0:py1, px0:px1])
    if allowed is not None:
        halo &= allowed[py0:py1, px0:px1]
    low = 2 * sigma + 0.02
    # The digit's own stroke level, not the image's: another object may be darker.
    level = max(float(_percentile(ink[selected], 90)), low + 0.02)
    soft = np.clip((ink[py0:py1, px0:px1] - low) / (level - low), 0, 1) * halo
    return _crop_to(soft.astype(np.float32), 0.5)


def _find_digit(binarised: _Binarised) -> _Found | None:
    found = _ink_and_selection(
        binarised, functools.partial(_select_digit, allow_border=binarised.allow_border)
    )
    if found is None:
        return None
    ink, sigma_s, digit = found
    ys = np.flatnonzero(digit.any(axis=1))
    xs = np.flatnonzero(digit.any(axis=0))
    y0, y1, x0, x1 = int(ys[0]), int(ys[-1]) + 1, int(xs[0]), int(xs[-1]) + 1
    if max(y1 - y0, x1 - x0) < 3:
        return None
    box = (y0, y1, x0, x1)
    return _Found(soft=_soft_crop(ink, sigma_s, digit, box), box=box)


def _normalise(soft: np.ndarray) -> np.ndarray | None:
    """MNIST stroke width, 20x20 box with aspect kept, centre of mass at (14, 14)."""
    h, w = soft.shape
    scale = BOX / max(h, w)
    width = _stroke_width(soft > 0.5)
    if max(h, w) < MIN_LENGTH_IN_STROKES * width:
        # A dot, a blot or a smudge: no longer than a few stroke widths in any direction.
        return None
    if width * scale < 0.8 * TARGET_STROKE:
        # Pen strokes photographed large become hairlines at 20x20; thicken them first.
        k = round(TARGET_STROKE / scale - width)
        if k >= 2:
            soft = _crop_to(ndi.grey_dilation(np.pad(soft, k), size=(k, k)), 0.5)
            h, w = soft.shape
            scale = BOX / max(h, w)
    nh = max(1, round(h * scale))
    nw = max(1, round(w * scale))
    small = np.asarray(
        Image.fromarray(soft, mode="F").resize((nw, nh), Image.Resampling.BILINEAR),
        dtype=np.float32,
    )
    top = float(small.max())
    if top <= 0.05:
        return None
    return _place(np.clip(small / top, 0, 1))


def _on_black(image: Image.Image) -> np.ndarray:
    rgba = image.convert("RGBA")
    black = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
    return np.asarray(Image.alpha_composite(black, rgba).convert("RGB"), dtype=np.float32) / 255


def to_mnist(image: Image.Image) -> np.ndarray:
    """Turn any decoded image into the model's input, in MNIST's own format.

    Handles dark ink on light paper (any colour, uneven lighting, ruled lines, the table at the
    sheet's edge or all around a small sheet), light strokes on dark backgrounds, transparency
    (composited on white), palette/LA/CMYK/16-bit modes, digits from 5% to 100% of the frame.
    Returns float32 (28, 28) in [0, 1]: white digit on black, fitted into a 20x20 box with its
    aspect ratio kept, centre of mass at (14, 14). Raises ``NoDigitFound`` for blank images.
    """
    return locate_digit(image)[0]


def locate_digit(
    image: Image.Image, *, analysis: Analysis | None = None
) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """``to_mnist`` plus where the digit is: (model input, box).

    The model input is exactly ``to_mnist(image)``; the box is (x0, y0, x1, y1) in ``image``'s
    pixel coordinates (x1, y1 exclusive) around the ink that was read. ``analysis``, if given,
    is ``Analysis(image)``, shared with other looks at the image. Raises like ``to_mnist``.
    """
    analysis = analysis if analysis is not None else Analysis(image)
    work = analysis.work
    hit = analysis.look(_find_digit)
    if hit is None:
        raise NoDigitFound()
    part, found = hit
    sheet = analysis.sheet if part == "sheet" else None
    if sheet is not None:
        fy0, fy1, fx0, fx1 = found.box
        found.box = (fy0 + sheet[0], fy1 + sheet[0], fx0 + sheet[2], fx1 + sheet[2])
    y0, y1, x0, x1 = found.box
    # Where the analysed pixels sit in the image: origin (x, y) and pixels per analysed pixel.
    frame = _Frame(0.0, 0.0, image.width / work.width, image.height / work.height)
    ratio = max(image.size) / max(work.size)
    if max(y1 - y0, x1 - x0) < REFINE_BELOW and ratio > 1.5:
        # A small digit in a big photo: look again at its neighbourhood at full resolution.
        size = max(y1 - y0, x1 - x0)
        # Stay on the sheet, if there is one: its edge is not part of the digit.
        ly0, ly1, lx0, lx1 = sheet if sheet is not None else (0, work.height, 0, work.width)
        box = (
            round(max(lx0, x0 - size) * ratio),
            round(max(ly0, y0 - size) * ratio),
            min(image.width, round(min(lx1, x1 + size) * ratio)),
            min(image.height, round(min(ly1, y1 + size) * ratio)),
        )
        crop_long = max(box[2] - box[0], box[3] - box[1])
        # Only worth a second look if it sees the digit in more pixels than the first did.
        if _fitted_long_side(crop_long, REFINE_LONG_SIDE) >= REFINE_MIN_GAIN * crop_long / ratio:
            near = Analysis(image, long_side=REFINE_LONG_SIDE, region=box)
            refined = _find_digit(near.binarised("all"))
            if refined is not None:
                found = refined
                frame = _Frame(
                    box[0],
                    box[1],
                    (box[2] - box[0]) / near.work.width,
                    (box[3] - box[1]) / near.work.height,
                )
    result = _normalise(found.soft)
    if result is None:
        raise NoDigitFound()
    return result, frame.image_box(found.box, image.size)


@dataclass(frozen=True)
class _Frame:
    """Maps analysed pixels to image pixels: image = origin + analysed * scale."""

    x: float
    y: float
    sx: float
    sy: float

    def image_box(
        self, box: tuple[int, int, int, int], size: tuple[int, int]
    ) -> tuple[int, int, int, int]:
        """(y0, y1, x0, x1) analysed -> (x0, y0, x1, y1) image pixels, clipped to ``size``."""
        y0, y1, x0, x1 = box
        w, h = size
        return (
            max(0, math.floor(self.x + x0 * self.sx)),
            max(0, math.floor(self.y + y0 * self.sy)),
            min(w, math.ceil(self.x + x1 * self.sx)),
            min(h, math.ceil(self.y + y1 * self.sy)),
        )


def normalise_crop(soft: np.ndarray) -> np.ndarray | None:
    """The step every digit crop takes to become model input, single digits and numbers alike.

    ``soft`` is (h, w) float32 ink in [0, 1] cropped to the digit. Returns (28, 28) float32 in
    [0, 1] in MNIST's format, or None when the crop is a dot or a smudge rather than a digit.
    """
    return _normalise(soft)


@dataclass
class Marks:
    """The ink marks of an image, as ``to_mnist`` binarises and cleans them (specks, edges,
    shadows and ruled lines dropped), at the scale they were analysed.

    ``ink`` (h, w) float32 >= 0 is the ink strength, ``mask`` (h, w) bool the kept marks, ``sigma``
    the noise level; ``frame`` maps analysed pixels to the image's.
    """

    ink: np.ndarray
    mask: np.ndarray
    sigma: float
    frame: _Frame
    image_size: tuple[int, int]

    def image_box(self, box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
        """An analysed (y0, y1, x0, x1) box as (x0, y0, x1, y1) pixels of the image."""
        return self.frame.image_box(box, self.image_size)

    def soft_crop(
        self,
        selected: np.ndarray,
        box: tuple[int, int, int, int],
        *,
        allowed: np.ndarray | None = None,
        origin: tuple[int, int] = (0, 0),
    ) -> np.ndarray:
        """Soft ink of the ``selected`` (h, w) bool pixels in ``box`` (y0, y1, x0, x1), cropped
        as for a single digit: (h', w') float32 in [0, 1]; pass it to ``normalise_crop``.
        ``allowed`` (h, w) bool keeps the halo off a neighbour's ink. ``selected``, ``allowed``
        and ``box`` may cover a window of the analysed pixels whose top-left is ``origin``
        (y, x); a window reaching 2 pixels past ``box`` (or the frame) gives the same crop."""
        oy, ox = origin
        h, w = selected.shape
        return _soft_crop(
            self.ink[oy : oy + h, ox : ox + w], self.sigma, selected, box, allowed=allowed
        )


def _all_marks(
    mask: np.ndarray, strength: np.ndarray, labels: np.ndarray, n: int, *, allow_border: bool
) -> np.ndarray:
    scores, _, _ = _component_scores(mask, strength, labels, n, allow_border=allow_border)
    if n == 0:
        return np.zeros_like(mask)
    lookup = np.concatenate([[False], scores > 0])
    return lookup[labels]


def _marks_in(binarised: _Binarised) -> tuple[np.ndarray, float, np.ndarray] | None:
    return _ink_and_selection(
        binarised, functools.partial(_all_marks, allow_border=binarised.allow_border)
    )


def find_marks(
    image: Image.Image,
    *,
    region: tuple[int, int, int, int] | None = None,
    long_side: int = WORK_LONG_SIDE,
    analysis: Analysis | None = None,
) -> Marks:
    """Every ink mark of ``image`` (or of its ``region`` (x0, y0, x1, y1)), binarised and
    cleaned by the same steps as ``to_mnist``, analysed with a long side of about ``long_side``.

    Without ``region``, a sheet lying on a darker desk is analysed alone, as in ``to_mnist``.
    ``analysis``, if given, is ``Analysis(image, long_side=long_side, region=region)``, shared
    with other looks at the image. Raises ``NoDigitFound`` when there is no ink,
    ``ImageRejected("not_an_image")`` when the pixels cannot be read.
    """
    if analysis is None:
        analysis = Analysis(image, long_side=long_side, region=region)
    crop, work, planes = analysis.crop, analysis.work, analysis.planes
    ox, oy = (region[0], region[1]) if region is not None else (0, 0)
    frame = _Frame(ox, oy, crop.width / work.width, crop.height / work.height)
    hit = analysis.look(_marks_in)
    if hit is None:
        raise NoDigitFound()
    part, (ink, sigma, mask) = hit
    if part == "sheet":
        y0, y1, x0, x1 = analysis.sheet
        full_ink = np.zeros(planes.shape[:2], dtype=np.float32)
        full_mask = np.zeros(planes.shape[:2], dtype=bool)
        full_ink[y0:y1, x0:x1] = ink
        full_mask[y0:y1, x0:x1] = mask
        ink, mask = full_ink, full_mask
    return Marks(ink=ink, mask=mask, sigma=sigma, frame=frame, image_size=image.size)
