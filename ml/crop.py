"""The MNIST-style crop: one digit's ink made into the model's 28x28 input.

``to_mnist`` and ``locate_digit`` find the one digit of an image and crop it; ``normalise_crop``
is the step every crop takes to become model input, single digits and the digits of numbers alike.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage as ndi

from ml.decode import NoDigitFound
from ml.ink import Analysis, Binarised, component_scores, ink_and_selection
from ml.planes import fitted_long_side, percentile

# A digit smaller than this (working pixels) is looked at again at up to REFINE_LONG_SIDE.
REFINE_BELOW = 64
REFINE_LONG_SIDE = 160
# ...only if the second look sees the digit in this many times the working pixels.
REFINE_MIN_GAIN = 1.3
# A digit is longer than this many stroke widths; a dot, a click or a blot is not.
MIN_LENGTH_IN_STROKES = 2.1
# MNIST digits fit a 20x20 box and have their centre of mass at (14, 14) (measured: 13.99, 14.00).
BOX = 20
SIZE = 28
# Thinner strokes are thickened to this (20x20-box pixels) before downscaling, as MNIST's.
TARGET_STROKE = 2.6


def interior(mask: np.ndarray) -> np.ndarray:
    """The ink of ``mask`` (h, w) bool whose four neighbours are all ink, nothing outside the
    frame counting as ink: ``ndi.binary_erosion(mask, border_value=0)``, from slices (the
    erosion's set-up costs more than the work on a crop)."""
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
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 in the coordinates of the analysed planes


def _select_digit(
    mask: np.ndarray, strength: np.ndarray, labels: np.ndarray, n: int, *, allow_border: bool
) -> np.ndarray:
    """Keep the connected components that make up the digit; drop specks, edges and shadows."""
    scores, mass, slices = component_scores(mask, strength, labels, n, allow_border=allow_border)
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


def soft_crop(
    ink: np.ndarray,
    sigma: float,
    selected: np.ndarray,
    box: tuple[int, int, int, int],
    *,
    allowed: np.ndarray | None = None,
) -> np.ndarray:
    """Soft ink (antialiased edges) of the ``selected`` pixels within ``box`` (x0, y0, x1, y1),
    plus a small halo, cropped to its strong part: (h', w') float32 in [0, 1]. ``allowed``
    (same shape as ``ink``) bounds the halo, so that a close neighbour's ink stays out."""
    x0, y0, x1, y1 = box
    pad = _HALO
    py0, py1 = max(0, y0 - pad), min(ink.shape[0], y1 + pad)
    px0, px1 = max(0, x0 - pad), min(ink.shape[1], x1 + pad)
    halo = _halo(selected[py0:py1, px0:px1])
    if allowed is not None:
        halo &= allowed[py0:py1, px0:px1]
    low = 2 * sigma + 0.02
    # The digit's own stroke level, not the image's: another object may be darker.
    level = max(float(percentile(ink[selected], 90)), low + 0.02)
    soft = np.clip((ink[py0:py1, px0:px1] - low) / (level - low), 0, 1) * halo
    return _crop_to(soft.astype(np.float32), 0.5)


def _find_digit(binarised: Binarised) -> _Found | None:
    found = ink_and_selection(
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
    box = (x0, y0, x1, y1)
    return _Found(soft=soft_crop(ink, sigma_s, digit, box), box=box)


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
        fx0, fy0, fx1, fy1 = found.box
        found.box = (fx0 + sheet[0], fy0 + sheet[1], fx1 + sheet[0], fy1 + sheet[1])
    x0, y0, x1, y1 = found.box
    # Where the analysed pixels sit in the image: origin (x, y) and pixels per analysed pixel.
    frame = Frame(0.0, 0.0, image.width / work.width, image.height / work.height)
    ratio = max(image.size) / max(work.size)
    if max(y1 - y0, x1 - x0) < REFINE_BELOW and ratio > 1.5:
        # A small digit in a big photo: look again at its neighbourhood at full resolution.
        size = max(y1 - y0, x1 - x0)
        # Stay on the sheet, if there is one: its edge is not part of the digit.
        lx0, ly0, lx1, ly1 = sheet if sheet is not None else (0, 0, work.width, work.height)
        box = (
            round(max(lx0, x0 - size) * ratio),
            round(max(ly0, y0 - size) * ratio),
            min(image.width, round(min(lx1, x1 + size) * ratio)),
            min(image.height, round(min(ly1, y1 + size) * ratio)),
        )
        crop_long = max(box[2] - box[0], box[3] - box[1])
        # Only worth a second look if it sees the digit in more pixels than the first did.
        if fitted_long_side(crop_long, REFINE_LONG_SIDE) >= REFINE_MIN_GAIN * crop_long / ratio:
            near = Analysis(image, long_side=REFINE_LONG_SIDE, region=box)
            refined = _find_digit(near.binarised("all"))
            if refined is not None:
                found = refined
                frame = Frame(
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
class Frame:
    """Maps analysed pixels to image pixels: image = origin + analysed * scale."""

    x: float
    y: float
    sx: float
    sy: float

    def image_box(
        self, box: tuple[int, int, int, int], size: tuple[int, int]
    ) -> tuple[int, int, int, int]:
        """An analysed box -> the image's pixels, both (x0, y0, x1, y1), clipped to ``size``."""
        x0, y0, x1, y1 = box
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
