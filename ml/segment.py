"""Cut one line of handwritten digits into digit crops, left to right.

The ink is found by ``preprocess.find_marks`` (the same binarisation and cleaning as
``to_mnist``), and every crop becomes model input through ``preprocess.normalise_crop`` (the same
step as a single digit), so a digit read inside a number looks to the model as it would alone.

Marks are grouped into digits by geometry: pieces closer than a stroke width are one mark (a
dotted or broken stroke), marks stacked in the same columns are one digit (the bar of a 5, the
crossbar of a 7, the open top of a 4), small marks join the digit they touch or are dropped as
specks. A mark too wide for one digit (touching or overlapping neighbours) is cut at the columns
whose pieces the model reads most confidently.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage as ndi

from ml.preprocess import (
    MIN_WORK_LONG_SIDE,
    WORK_LONG_SIDE,
    ImageRejected,
    Marks,
    NoDigitFound,
    find_marks,
    normalise_crop,
)

# More digits than this in one line is not a number people upload to be read.
MAX_MARKS = 20
# A line whose digits are shorter than this (analysed pixels) is looked at again from the
# decoded image, at a scale where they are about REFINE_HEIGHT tall (as to_mnist does for one).
REFINE_BELOW = 48
REFINE_HEIGHT = 64
REFINE_MAX_LONG_SIDE = 1024
# A mark at most this many line heights wide is read whole unless a cut reads clearly better;
# wider ones are always cut. Handwritten digits are 0.3-1.0 of their height wide.
SPLIT_ABOVE = 0.95
ALWAYS_SPLIT_ABOVE = 1.45
# Mean log-confidence a cut must gain over reading the mark whole.
SPLIT_MARGIN = 0.35
# A piece narrower than this many line heights is not a digit (a 1 is about 0.2 wide).
MIN_PIECE_WIDTH = 0.12

PredictProba = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class DigitCrop:
    """One digit of a line: ``box`` (x0, y0, x1, y1) in the image's pixels (x1, y1 exclusive),
    ``model_input`` (28, 28) float32 in [0, 1] in MNIST's format."""

    box: tuple[int, int, int, int]
    model_input: np.ndarray


@dataclass
class _Group:
    labels: list[int]
    y0: int
    y1: int
    x0: int
    x1: int
    mass: float

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    def absorb(self, other: _Group) -> None:
        self.labels += other.labels
        self.y0, self.y1 = min(self.y0, other.y0), max(self.y1, other.y1)
        self.x0, self.x1 = min(self.x0, other.x0), max(self.x1, other.x1)
        self.mass += other.mass


def _stroke_width(mask: np.ndarray) -> float:
    area = float(mask.sum())
    boundary = float((mask & ~ndi.binary_erosion(mask)).sum())
    return 2 * area / max(boundary, 1.0)


def _marks(marks: Marks) -> tuple[np.ndarray, list[_Group]]:
    """Label the marks, joining pieces less than about a stroke width apart (a dotted or broken
    stroke). Returns the (h, w) int32 labels and one single-mark group per label."""
    mask = marks.mask
    reach = max(1, round(0.6 * _stroke_width(mask)))
    linked = ndi.binary_dilation(mask, iterations=reach)
    labels, n = ndi.label(linked, structure=np.ones((3, 3), dtype=bool))
    labels = np.where(mask, labels, 0).astype(np.int32)
    mass = np.bincount(labels.ravel(), weights=marks.ink.ravel(), minlength=n + 1)
    groups = []
    for i, sl in enumerate(ndi.find_objects(labels), start=1):
        if sl is None:
            continue
        groups.append(_Group([i], sl[0].start, sl[0].stop, sl[1].start, sl[1].stop, float(mass[i])))
    return labels, groups


def _line_height(groups: list[_Group]) -> float:
    """The height of the line's digits: the tall marks among those with real ink."""
    top = max(g.mass for g in groups)
    heights = np.array([g.height for g in groups if g.mass >= 0.15 * top])
    return float(np.percentile(heights, 75))


def _overlap(a0: int, a1: int, b0: int, b1: int) -> int:
    return min(a1, b1) - max(a0, b0)


def _bands(groups: list[_Group]) -> list[list[_Group]]:
    """Groups stacked into horizontal bands of overlapping rows, top to bottom."""
    bands: list[list[_Group]] = []
    span: list[tuple[int, int]] = []
    for g in sorted(groups, key=lambda g: g.y0):
        if span and g.y0 < span[-1][1]:
            bands[-1].append(g)
            span[-1] = (span[-1][0], max(span[-1][1], g.y1))
        else:
            bands.append([g])
            span.append((g.y0, g.y1))
    return bands


def _check_one_line(main: list[_Group]) -> None:
    bands = _bands(main)
    if len(bands) < 2:
        return
    if all(len(b) == 1 for b in bands) and all(
        _overlap(a[0].x0, a[0].x1, b[0].x0, b[0].x1) > 0 for a, b in itertools.pairwise(bands)
    ):
        # One mark above another: a digit in pieces, not two lines.
        return
    raise ImageRejected(
        "several_lines",
        f"The image holds {len(bands)} lines of writing. "
        "Please upload one line of digits (one number) at a time.",
    )


def _group(groups: list[_Group], height: float) -> list[_Group]:
    """Join the marks of each digit; drop specks. Returns digits left to right."""
    main = [g for g in groups if g.height >= 0.5 * height]
    small = [g for g in groups if g.height < 0.5 * height]
    main.sort(key=lambda g: g.x0)
    digits: list[_Group] = []
    for g in main:
        # Stacked in the same columns: the open top of a 4, a 1's flag, a stroke broken across.
        if digits and _overlap(digits[-1].x0, digits[-1].x1, g.x0, g.x1) >= 0.5 * min(
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
            shared = _overlap(d.x0, d.x1, g.x0, g.x1)
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


@dataclass
class _Piece:
    mask: np.ndarray  # (h, w) bool, the piece's ink
    box: tuple[int, int, int, int]  # y0, y1, x0, x1 analysed pixels
    allowed: np.ndarray


def _piece(marks: Marks, own: np.ndarray, c0: int, c1: int) -> _Piece | None:
    """The part of ``own`` (a digit group's ink) between columns c0 and c1, minus the stray tips
    of a neighbour's strokes that cross the cut."""
    cols = np.zeros(own.shape[1], dtype=bool)
    cols[c0:c1] = True
    part = own & cols[None, :]
    labels, n = ndi.label(part, structure=np.ones((3, 3), dtype=bool))
    if n == 0:
        return None
    if n > 1:
        areas = np.bincount(labels.ravel())[1:]
        keep = np.concatenate([[False], areas >= 0.15 * areas.max()])
        part = keep[labels]
    ys = np.flatnonzero(part.any(axis=1))
    xs = np.flatnonzero(part.any(axis=0))
    box = (int(ys[0]), int(ys[-1]) + 1, int(xs[0]), int(xs[-1]) + 1)
    allowed = ~(marks.mask & ~part) & cols[None, :]
    return _Piece(part, box, allowed)


def _cut_candidates(own: np.ndarray, x0: int, x1: int, pieces: int, height: float) -> list:
    """Sets of ``pieces - 1`` cut columns across [x0, x1), near even spacing, at thin ink."""
    width = x1 - x0
    profile = own[:, x0:x1].sum(axis=0).astype(np.float64)
    per_cut: list[list[int]] = []
    for k in range(1, pieces):
        centre = width * k / pieces
        half = max(1, round(0.3 * width / pieces))
        lo, hi = max(1, round(centre - half)), min(width - 1, round(centre + half))
        if hi <= lo:
            return []
        window = profile[lo:hi]
        order = np.argsort(window + 1e-3 * np.abs(np.arange(lo, hi) - centre), kind="stable")
        picks: list[int] = []
        for j in order:
            column = lo + int(j)
            if all(abs(column - p) > 0.1 * height for p in picks):
                picks.append(column)
            if len(picks) == 2:
                break
        per_cut.append([x0 + c for c in picks])
    min_width = MIN_PIECE_WIDTH * height
    candidates = []
    for cuts in itertools.product(*per_cut):
        edges = [x0, *cuts, x1]
        if all(b - a >= min_width for a, b in itertools.pairwise(edges)):
            candidates.append(list(cuts))
    return candidates


def _crop_input(marks: Marks, piece: _Piece) -> np.ndarray | None:
    return normalise_crop(marks.soft_crop(piece.mask, piece.box, allowed=piece.allowed))


def _split(
    marks: Marks,
    own: np.ndarray,
    group: _Group,
    height: float,
    predict_proba: PredictProba | None,
) -> list[tuple[_Piece, np.ndarray]]:
    """Read a group whole or cut into pieces, whichever the model is surest of."""
    x0, x1 = group.x0, group.x1
    ratio = group.width / height
    whole = _piece(marks, own, x0, x1)
    options: list[list[int]] = []
    if ratio <= ALWAYS_SPLIT_ABOVE:
        options.append([])
    if ratio > SPLIT_ABOVE:
        most = max(2, min(MAX_MARKS, math.ceil(ratio / 0.45)))
        fewest = max(2, math.floor(ratio / 1.2))
        for pieces in range(fewest, most + 1):
            options += _cut_candidates(own, x0, x1, pieces, height)
            if predict_proba is None and len(options) > 1:
                break
    if not options:
        options.append([])
    readings: list[tuple[list[int], list[tuple[_Piece, np.ndarray]]]] = []
    for cuts in options:
        if not cuts:
            parts = [whole]
        else:
            edges = [x0, *cuts, x1]
            parts = [_piece(marks, own, a, b) for a, b in itertools.pairwise(edges)]
        read = []
        for part in parts:
            x = _crop_input(marks, part) if part is not None else None
            if x is not None:
                read.append((part, x))
        if len(read) == len(parts):
            readings.append((cuts, read))
    if not readings:
        return []
    if predict_proba is None or len(readings) == 1:
        # Without a model: the first option (whole if allowed, else the thinnest-ink cut).
        return readings[0][1]
    batch = np.stack([x for _, read in readings for _, x in read])
    proba = predict_proba(batch)
    scores, at = [], 0
    for cuts, read in readings:
        top = proba[at : at + len(read)].max(axis=1)
        at += len(read)
        score = float(np.mean(np.log(np.maximum(top, 1e-3))))
        scores.append(score - (SPLIT_MARGIN if cuts and options[0] == [] else 0.0))
    return readings[int(np.argmax(scores))][1]


def _analyse(
    image: Image.Image, region: tuple[int, int, int, int] | None, long_side: int
) -> tuple[Marks, np.ndarray, list[_Group], float]:
    marks = find_marks(image, region=region, long_side=long_side)
    labels, groups = _marks(marks)
    if not groups:
        raise NoDigitFound()
    height = _line_height(groups)
    return marks, labels, groups, height


def _too_many(count: int) -> ImageRejected:
    return ImageRejected(
        "too_many_marks",
        f"The image holds {count} separate marks; a number can have at most {MAX_MARKS} digits. "
        "Please upload one number, written on a line by itself.",
    )


def segment(image: Image.Image, *, predict_proba: PredictProba | None = None) -> list[DigitCrop]:
    """Cut the one line of digits in ``image`` into digit crops, left to right.

    ``predict_proba`` ((n, 28, 28) float32 -> (n, 10) float64, e.g. ``Model.predict_proba``)
    chooses where touching digits are cut; without it the cut goes through the thinnest ink
    and marks narrow enough for one digit are kept whole. Raises ``ImageRejected`` with code
    ``no_digit`` (no ink), ``several_lines`` (writing on more than one line) or
    ``too_many_marks`` (more than ``MAX_MARKS`` marks in the line).
    """
    marks, labels, groups, height = _analyse(image, None, WORK_LONG_SIDE)
    main = [g for g in groups if g.height >= 0.5 * height]
    _check_one_line(main)
    digits = _group(groups, height)
    if len(digits) > MAX_MARKS:
        raise _too_many(len(digits))
    ratio = max(image.size) / max(marks.ink.shape)
    if digits and height < REFINE_BELOW and ratio > 1.5 and max(image.size) >= MIN_WORK_LONG_SIDE:
        # Small writing in a big photo: read the line again from the decoded pixels.
        y0, y1 = min(d.y0 for d in digits), max(d.y1 for d in digits)
        x0, x1 = min(d.x0 for d in digits), max(d.x1 for d in digits)
        margin = round(0.5 * height)
        box = marks.image_box((max(0, y0 - margin), y1 + margin, max(0, x0 - margin), x1 + margin))
        long_side = min(
            REFINE_MAX_LONG_SIDE,
            max(box[2] - box[0], box[3] - box[1]),
            round(max(x1 - x0, y1 - y0, 1) * REFINE_HEIGHT / height),
        )
        try:
            refined = _analyse(image, box, long_side)
        except NoDigitFound:
            refined = None
        if refined is not None:
            marks, labels, groups, height = refined
            digits = _group(groups, height)
    crops: list[DigitCrop] = []
    for d in digits:
        own = np.isin(labels, d.labels)
        for piece, x in _split(marks, own, d, height, predict_proba):
            crops.append(DigitCrop(box=marks.image_box(piece.box), model_input=x))
        if len(crops) > MAX_MARKS:
            raise _too_many(len(crops))
    if not crops:
        raise NoDigitFound()
    return crops
