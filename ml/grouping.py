"""Line grouping: the marks of an image grouped into the digits of one line, left to right.

``find_marks`` binarises and cleans the ink as ``to_mnist`` does; ``find_line`` analyses the line at
LINE_LONG_SIDE, labels its marks (joining pieces closer than a stroke width), drops blots, the
sheet's edge and printed lines (``ml.ruled``), checks there is one line, and joins the marks of
each digit (the bar of a 5, the open top of a 4); small writing in a big photo is looked at again.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage as ndi

from ml.crop import Frame, interior, soft_crop
from ml.decode import ImageRejected, NoDigitFound
from ml.ink import Analysis, Binarised, component_scores, ink_and_selection
from ml.planes import MIN_WORK_LONG_SIDE, WORK_LONG_SIDE
from ml.ruled import (
    span_overlap,
    stacked_bands,
    without_faint_lines,
    without_margin_line,
    without_rule_dashes,
    without_ruled_rows,
)

# A line is analysed at about this long side: at 256 a thin pen stroke of a number is lost.
LINE_LONG_SIDE = 512
# A mark is the sheet's edge only if it runs along the border for this share of its length.
EDGE_RUN = 0.5
# More digits than this in one line is not a number people upload to be read.
MAX_MARKS = 20
# Digits shorter than this (analysed pixels) are looked at again, LINE_REFINE_HEIGHT tall.
LINE_REFINE_BELOW = 48
LINE_REFINE_HEIGHT = 64
LINE_REFINE_MAX_LONG_SIDE = 1024


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
    frame: Frame
    image_size: tuple[int, int]

    def image_box(self, box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
        """An analysed box as pixels of the image, both (x0, y0, x1, y1)."""
        return self.frame.image_box(box, self.image_size)

    def soft_crop(
        self,
        selected: np.ndarray,
        box: tuple[int, int, int, int],
        *,
        allowed: np.ndarray | None = None,
        origin: tuple[int, int] = (0, 0),
    ) -> np.ndarray:
        """Soft ink of the ``selected`` (h, w) bool pixels in ``box`` (x0, y0, x1, y1), cropped
        as for a single digit: (h', w') float32 in [0, 1]; pass it to ``normalise_crop``.
        ``allowed`` (h, w) bool keeps the halo off a neighbour's ink. ``selected``, ``allowed``
        and ``box`` may cover a window of the analysed pixels whose top-left is ``origin``
        (y, x); a window reaching 2 pixels past ``box`` (or the frame) gives the same crop."""
        oy, ox = origin
        h, w = selected.shape
        return soft_crop(
            self.ink[oy : oy + h, ox : ox + w], self.sigma, selected, box, allowed=allowed
        )


def _all_marks(
    mask: np.ndarray, strength: np.ndarray, labels: np.ndarray, n: int, *, allow_border: bool
) -> np.ndarray:
    scores, _, _ = component_scores(mask, strength, labels, n, allow_border=allow_border)
    if n == 0:
        return np.zeros_like(mask)
    lookup = np.concatenate([[False], scores > 0])
    return lookup[labels]


def _marks_in(binarised: Binarised) -> tuple[np.ndarray, float, np.ndarray] | None:
    return ink_and_selection(
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
    frame = Frame(ox, oy, crop.width / work.width, crop.height / work.height)
    hit = analysis.look(_marks_in)
    if hit is None:
        raise NoDigitFound()
    part, (ink, sigma, mask) = hit
    if part == "sheet":
        x0, y0, x1, y1 = analysis.sheet
        full_ink = np.zeros(planes.shape[:2], dtype=np.float32)
        full_mask = np.zeros(planes.shape[:2], dtype=bool)
        full_ink[y0:y1, x0:x1] = ink
        full_mask[y0:y1, x0:x1] = mask
        ink, mask = full_ink, full_mask
    return Marks(ink=ink, mask=mask, sigma=sigma, frame=frame, image_size=image.size)


@dataclass
class Group:
    labels: list[int]
    y0: int
    y1: int
    x0: int
    x1: int
    mass: float
    area: int = 0  # pixels of ink, 0 where unknown

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    def absorb(self, other: Group) -> None:
        self.labels += other.labels
        self.y0, self.y1 = min(self.y0, other.y0), max(self.y1, other.y1)
        self.x0, self.x1 = min(self.x0, other.x0), max(self.x1, other.x1)
        self.mass += other.mass
        self.area += other.area


def _label_marks(marks: Marks) -> tuple[np.ndarray, list[Group]]:
    """Label the marks, joining pieces less than about a stroke width apart (a dotted or broken
    stroke), and drop blots, the sheet's edge and the dashes of printed rules. Returns the
    (h, w) int32 labels and one single-mark group per label kept."""
    full = without_ruled_rows(marks.mask)
    labels = np.zeros(full.shape, dtype=np.int32)
    rows, cols = np.flatnonzero(full.any(axis=1)), np.flatnonzero(full.any(axis=0))
    if rows.size == 0:
        return labels, []
    # Only the part of the frame with ink is worked on (most of a photo is paper).
    oy, ox = int(rows[0]), int(cols[0])
    mask = full[oy : rows[-1] + 1, ox : cols[-1] + 1]
    boundary = mask & ~interior(mask)
    width = 2 * float(mask.sum()) / max(float(boundary.sum()), 1.0)
    reach = max(1, round(0.6 * width))
    linked = ndi.maximum_filter(np.pad(mask, reach), size=2 * reach + 1)[reach:-reach, reach:-reach]
    local, n = ndi.label(linked, structure=np.ones((3, 3), dtype=bool))
    local = np.where(mask, local, 0).astype(np.int32)
    labels[oy : oy + mask.shape[0], ox : ox + mask.shape[1]] = local
    flat = local.ravel()
    ink = marks.ink[oy : oy + mask.shape[0], ox : ox + mask.shape[1]]
    mass = np.bincount(flat, weights=ink.ravel(), minlength=n + 1)
    area = np.bincount(flat, minlength=n + 1)
    edge = np.bincount(flat[boundary.ravel()], minlength=n + 1)
    # Pixels of each mark on the frame's top or bottom row, and on its first or last column.
    on_rows = np.bincount(np.concatenate([labels[0], labels[-1]]), minlength=n + 1)
    on_cols = np.bincount(np.concatenate([labels[:, 0], labels[:, -1]]), minlength=n + 1)
    groups = []
    for i, sl in enumerate(ndi.find_objects(local), start=1):
        if sl is None:
            continue
        g = Group(
            [i],
            sl[0].start + oy,
            sl[0].stop + oy,
            sl[1].start + ox,
            sl[1].stop + ox,
            float(mass[i]),
            int(area[i]),
        )
        # The sheet's edge, a desk or a frame drawn around the page: along a border it runs on,
        # as long as most of the frame. A digit only touches a border: a number of touching
        # digits drawn across a pad is as long as the frame, and may touch its top or side.
        across = on_rows[i] >= EDGE_RUN * g.width and g.width > 0.6 * full.shape[1]
        down = on_cols[i] >= EDGE_RUN * g.height and g.height > 0.6 * full.shape[0]
        if across or down:
            continue
        # A blot or a shadow: solid, its strokes as wide as a third of its length. A soft shadow
        # binarises with holes (two thirds of its box); the stroke width alone rules out digits.
        solid = area[i] > 0.6 * g.height * g.width
        if solid and 2 * area[i] / max(1, edge[i]) > 0.3 * max(g.height, g.width) and n > 1:
            continue
        groups.append(g)
    return labels, without_rule_dashes(groups, width, full.shape)


def _line_height(groups: list[Group]) -> float:
    """The height of the line's digits: the tall marks among those with real ink."""
    # Flat slivers (pieces of ruled lines) are no writing: many of them beside one digit would
    # otherwise pass for the line, with the digit taken for the "far heavier" blot below.
    writing = [g for g in groups if g.width <= 4 * g.height] or groups
    masses = sorted((g.mass for g in writing), reverse=True)
    # One mark far heavier than the rest is a shadow or a blot linked to a digit, not the scale.
    top = masses[1] if len(masses) > 1 and masses[0] > 4 * masses[1] else masses[0]
    heights = np.array([g.height for g in writing if g.mass >= 0.15 * top])
    return float(np.percentile(heights, 75))


def _check_one_line(main: list[Group]) -> None:
    bands = stacked_bands(main)
    if len(bands) < 2:
        return
    if all(len(b) == 1 for b in bands) and all(
        span_overlap(a[0].x0, a[0].x1, b[0].x0, b[0].x1) > 0 for a, b in itertools.pairwise(bands)
    ):
        # One mark above another: a digit in pieces, not two lines.
        return
    raise ImageRejected(
        "several_lines",
        f"The image holds {len(bands)} lines of writing. "
        "Please upload one line of digits (one number) at a time.",
    )


def _join_digits(groups: list[Group], height: float) -> list[Group]:
    """Join the marks of each digit; drop specks. Returns digits left to right."""
    main = [g for g in groups if g.height >= 0.5 * height]
    # A thin dash longer than a 5's bar or a 7's crossbar: what is left of a ruled line.
    small = [
        g
        for g in groups
        if g.height < 0.5 * height and not (g.height <= 0.1 * height and g.width > 0.7 * height)
    ]
    main.sort(key=lambda g: g.x0)
    digits: list[Group] = []
    for g in main:
        # Stacked in the same columns: the open top of a 4, a 1's flag, a stroke broken across.
        if digits and span_overlap(digits[-1].x0, digits[-1].x1, g.x0, g.x1) >= 0.5 * min(
            g.width, digits[-1].width
        ):
            digits[-1].absorb(g)
        else:
            digits.append(g)
    biggest = max((g.mass for g in main), default=0.0)
    kept_small = []
    for g in sorted(small, key=lambda g: -g.mass):
        best, best_score = None, 0.0
        for d in digits:
            gap_y = max(d.y0 - g.y1, g.y0 - d.y1, 0)
            if gap_y > 0.35 * height:
                continue
            shared = span_overlap(d.x0, d.x1, g.x0, g.x1)
            # The bar of a 5, the crossbar of a 7: above or across the digit's own columns.
            score = shared / max(1, g.width) if shared > 0 else 0.0
            if shared <= 0 and -shared < 0.15 * height:
                score = 0.01 * (1 - (-shared) / (0.15 * height))
            if score > best_score:
                best, best_score = d, score
        if best is not None:
            best.absorb(g)
        elif max(g.height, g.width) >= 0.35 * height and g.mass >= 0.1 * biggest:
            kept_small.append(g)
    digits += kept_small
    # A long flat stroke under or through the line (an underline, a dash) is not a digit.
    digits = [d for d in digits if not (d.height < 0.3 * height and d.width > 1.2 * height)]
    digits.sort(key=lambda d: (d.x0 + d.x1) / 2)
    return digits


def _analyse(
    image: Image.Image, region: tuple[int, int, int, int] | None, long_side: int
) -> tuple[Marks, np.ndarray, list[Group], float]:
    marks = find_marks(image, region=region, long_side=long_side)
    labels, groups = _label_marks(marks)
    if not groups:
        raise NoDigitFound()
    height = _line_height(groups)
    return marks, labels, groups, height


def too_many_marks(count: int) -> ImageRejected:
    return ImageRejected(
        "too_many_marks",
        f"The image holds {count} separate marks; a number can have at most {MAX_MARKS} digits. "
        "Please upload one number, written on a line by itself.",
    )


@dataclass
class Line:
    """The one line of digits of an image, its marks grouped: ``marks`` as analysed, ``labels``
    (h, w) int32 each mark's label, ``digits`` the groups left to right (one per digit unless
    touching digits share one), ``height`` the line's height in analysed pixels."""

    marks: Marks
    labels: np.ndarray
    digits: list[Group]
    height: float


def find_line(image: Image.Image) -> Line:
    """The one line of digits in ``image``, its marks grouped into digits, left to right.

    Raises ``ImageRejected`` with code ``no_digit`` (no ink), ``several_lines`` (writing on more
    than one line) or ``too_many_marks`` (more than ``MAX_MARKS`` marks in the line).
    """
    marks, labels, groups, height = _analyse(image, None, LINE_LONG_SIDE)
    groups = without_faint_lines(without_margin_line(groups, height), height)
    main = [g for g in groups if g.height >= 0.5 * height]
    _check_one_line(main)
    digits = _join_digits(groups, height)
    if len(digits) > MAX_MARKS:
        raise too_many_marks(len(digits))
    ratio = max(image.size) / max(marks.ink.shape)
    if (
        digits
        and height < LINE_REFINE_BELOW
        and ratio > 1.5
        and max(image.size) >= MIN_WORK_LONG_SIDE
    ):
        # Small writing in a big photo: read the line again from the decoded pixels.
        y0, y1 = min(d.y0 for d in digits), max(d.y1 for d in digits)
        x0, x1 = min(d.x0 for d in digits), max(d.x1 for d in digits)
        margin = round(0.5 * height)
        box = marks.image_box((max(0, x0 - margin), max(0, y0 - margin), x1 + margin, y1 + margin))
        long_side = min(
            LINE_REFINE_MAX_LONG_SIDE,
            max(box[2] - box[0], box[3] - box[1]),
            round(max(x1 - x0, y1 - y0, 1) * LINE_REFINE_HEIGHT / height),
        )
        try:
            refined = _analyse(image, box, long_side)
        except NoDigitFound:
            refined = None
        if refined is not None:
            marks, labels, groups, height = refined
            digits = _join_digits(groups, height)
            if len(digits) > MAX_MARKS:
                raise too_many_marks(len(digits))
    return Line(marks, labels, digits, height)
