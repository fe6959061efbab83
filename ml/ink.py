"""Binarisation: where the ink of an image is, as a strength map and masks of its marks.

``Analysis`` takes an image to the working size, finds a sheet lying on a darker desk, and
binarises the ink on demand (``Binarised``): background fit, ink strength, hysteresis masks with
ruled lines removed (``ml.ruled``), and component scores that tell ink from specks and edges.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import TypeVar

import numpy as np
from PIL import Image
from scipy import ndimage as ndi

from ml.decode import ImageRejected
from ml.planes import (
    MIN_WORK_LONG_SIDE,
    WORK_LONG_SIDE,
    fit_long_side,
    mean_plane,
    median,
    on_black,
    percentile,
    resizable,
    to_float_planes,
)
from ml.ruled import without_ruled_lines


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
    coef[0] = median(values)
    resid = values - coef[0]
    for _ in range(3):
        centre = median(resid)
        deviation = np.abs(resid - centre)
        mad = median(deviation)
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
    sigma = float(1.4826 * median(np.abs(sample - median(sample)))) + 1e-3
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


def component_scores(
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


def _sheet_box(planes: np.ndarray) -> tuple[int, int, int, int] | None:
    """The box inside a bright, solid sheet of paper surrounded by a darker frame, if any.

    Returns (x0, y0, x1, y1) shrunk a little inside the sheet's edges, or None when the frame's
    border is not clearly darker than a large solid bright region (the usual case: the paper
    fills the frame, or a drawing's background does).
    """
    lum = mean_plane(planes)
    h, w = lum.shape
    border = np.concatenate([lum[0], lum[-1], lum[:, 0], lum[:, -1]])
    dark = float(median(border))
    # The 90th percentile is no brighter than the brightest pixel: most photos are told apart
    # without it (it partitions every pixel, the dearest step here).
    if float(lum.max()) - dark < 0.3 - 1e-6:
        return None
    bright = float(percentile(lum.ravel(), 90))
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
    return sl[1].start + mx, sl[0].start + my, sl[1].stop - mx, sl[0].stop - my


T = TypeVar("T")


class Binarised:
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
        level = float(percentile(strong, 90))
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
                cleaned = without_ruled_lines(mask)
                if cleaned is not mask:
                    # Removing a ruled line can split a component: label it afresh.
                    mask = cleaned
                    labels, n = ndi.label(mask, structure=_CONNECTED)
            self._masks[k] = (mask, labels, n)
        return self._masks[k]


def ink_and_selection(
    binarised: Binarised, select: Callable[..., np.ndarray]
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
            source = resizable(image) if region is not None else image
            self.crop = source.crop(region) if region is not None else image
            self.work = fit_long_side(self.crop, long_side)
            self.planes = to_float_planes(self.work)
        except Exception as exc:
            raise ImageRejected("not_an_image") from exc
        self.image = image
        # A tiny image is all digit; its strokes may touch the frame.
        self.allow_border = region is None and max(image.size) < MIN_WORK_LONG_SIDE
        # A sheet of paper lying on a darker table: its ink is read, not the table.
        self.sheet = None if self.allow_border or region is not None else _sheet_box(self.planes)
        self._binarised: dict[str, Binarised] = {}

    def binarised(self, part: str) -> Binarised:
        """The ink of the "sheet", of "all" the frame, or of all of it composited on "black"
        (light strokes on a transparent background vanish on white)."""
        if part not in self._binarised:
            if part == "sheet":
                x0, y0, x1, y1 = self.sheet
                planes, allow_border = self.planes[y0:y1, x0:x1], False
            elif part == "all":
                planes, allow_border = self.planes, self.allow_border
            else:
                planes, allow_border = on_black(self.work), self.allow_border
            self._binarised[part] = Binarised(planes, allow_border=allow_border)
        return self._binarised[part]

    def look(self, find: Callable[[Binarised], T | None]) -> tuple[str, T] | None:
        """What ``find`` finds first in the ink of the sheet (if there is one), of all the frame,
        or (for a transparent image) of it on black, with where: ("sheet", "all" or "black",
        found); None when it finds nothing."""
        parts = ("sheet", "all") if self.sheet is not None else ("all",)
        for part in parts:
            found = find(self.binarised(part))
            if found is not None:
                return part, found
        if "A" in resizable(self.image).mode:
            found = find(self.binarised("black"))
            if found is not None:
                return "black", found
        return None
