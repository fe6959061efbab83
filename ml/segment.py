"""Cut one line of handwritten digits into digit crops, left to right.

The ink is found by ``preprocess.find_marks`` (the same binarisation and cleaning as
``to_mnist``), and every crop becomes model input through ``preprocess.normalise_crop`` (the same
step as a single digit), so a digit read inside a number looks to the model as it would alone.

Marks are grouped into digits by geometry: pieces closer than a stroke width are one mark (a
dotted or broken stroke), marks stacked in the same columns are one digit (the bar of a 5, the
crossbar of a 7, the open top of a 4), small marks join the digit they touch or are dropped as
specks; blots, the sheet's edge and the remains of ruled lines are dropped. A mark too wide for
one digit (touching or overlapping neighbours) is cut along least-ink paths, where and into as
many pieces as the model reads most confidently.

The line is analysed at LINE_LONG_SIDE (512) rather than to_mnist's 256 pixels, so a crop's
model input is close to, not bit-identical with, what to_mnist gives for the same digit alone;
``ml.reading.read`` answers single digits through to_mnist itself.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage as ndi

from ml.preprocess import (
    MIN_WORK_LONG_SIDE,
    ImageRejected,
    Marks,
    NoDigitFound,
    find_marks,
    interior,
    normalise_crop,
)

# A line of digits is analysed at about this long side: to_mnist's WORK_LONG_SIDE (256) leaves
# a pen stroke of a digit one tenth of the frame wide too thin to find.
LINE_LONG_SIDE = 512
# A mark is the sheet's edge only if it runs along the border for this share of its length.
EDGE_RUN = 0.5
# More digits than this in one line is not a number people upload to be read.
MAX_MARKS = 20
# A line whose digits are shorter than this (analysed pixels) is looked at again from the
# decoded image, at a scale where they are about REFINE_HEIGHT tall (as to_mnist does for one).
REFINE_BELOW = 48
REFINE_HEIGHT = 64
REFINE_MAX_LONG_SIDE = 1024
# Rows (columns) this much inked are ruled lines (a margin line), not writing.
RULED_ROW_FILL = 0.5
RULED_COLUMN_FILL = 0.85
# A band of marks whose ink is all fainter than this share of the writing's is no writing.
FAINT_LINE = 0.5
# A mark at most this many line heights wide is read whole; up to ALWAYS_SPLIT_ABOVE it is read
# whole unless cuts read clearly better; wider ones are always cut.
# Handwritten digits are 0.3-1.0 of their height wide.
SPLIT_ABOVE = 0.95
ALWAYS_SPLIT_ABOVE = 1.45
ALONE_SPLIT_ABOVE = 2.0
# A mark the model reads whole this surely is not cut, unless it is too wide for one digit.
SURE_WHOLE = 0.8
# Log-probability the cut pieces must gain over reading the mark whole.
SPLIT_MARGIN = 0.35
# A piece is 0.12-1.6 line heights wide (a 1 is about 0.2). A 2 or a 3 with a long tail is
# up to 1.6 wide: with at most 1.15 a line holding one could not be cut into its true number of
# pieces and came out with a sliver more ("02" -> "062"); the shape prior and the wholeness part
# weigh a wide piece that is two digits. 1.6 against 1.15, benchmarks/number_reading.py (seed
# 2026, product model): pad_2to5 92.0 -> 94.0%, photo_6to8 78.0 -> 80.0%, touching 70.5 / 78.5
# -> 72.0 / 79.0%.
MIN_PIECE_WIDTH = 0.12
MAX_PIECE_WIDTH = 1.6
MIN_PIECE_HEIGHT = 0.5
# A piece narrower than this many heights and not read as a 1 loses this log-probability.
NARROW_PIECE = 0.3
NARROW_PENALTY = 0.7
# A piece read as a 1 less than SHORT_ONE line heights tall loses SHORT_ONE_PENALTY: straight
# cuts through a wide 3 or 4 leave slivers 0.55-0.73 tall that read as 1s at 100%.
SHORT_ONE = 0.75
SHORT_ONE_PENALTY = 3.0
# Log-probability a cut costs per stroke it crosses.
CROSSING_PENALTY = 0.35
# Candidate cuts are also tried every GRID_STEP line heights.
GRID_STEP = 0.2
# A mark at least STRAIGHT_ABOVE line heights wide is also cut straight down every STRAIGHT_STEP
# line heights. Where neighbours overlap, the least-ink path wanders into the gaps of one digit
# (a 0's loop) and hands half of it to the other; a straight cut shares the overlap fairly.
# Measured on the touching kinds (seed 2026, 200 each, the number of digits forced to the truth):
# 125 / 133 read right with least-ink paths only, 153 / 166 with every cut straight. Straight
# cuts alone also cut wide lone digits apart, so least-ink paths from the profile's minima stay.
STRAIGHT_ABOVE = 0.95
STRAIGHT_STEP = 0.1
# How wide each digit is for its height, from MNIST *train* (ink above 80/255): per digit 0-9,
# the median of log(width / height) and its spread (interquartile range / 1.349). A piece read
# as a digit it is far too wide or too narrow to be (two linked digits read as one 2, half a 0
# read as a 1) loses ASPECT_WEIGHT times a robust squared z-score beyond ASPECT_FREE spreads
# (MNIST's own digits are often 1-1.5 spreads off; tuned on testkit/numbers.py, seed 11).
ASPECT_LOG_MEDIAN = (-0.105, -0.916, -0.051, -0.223, -0.223, -0.105, -0.357, -0.223, -0.288, -0.357)
ASPECT_LOG_SPREAD = (0.165, 0.449, 0.203, 0.186, 0.186, 0.244, 0.213, 0.186, 0.241, 0.213)
ASPECT_WEIGHT = 0.5
ASPECT_FREE = 1.5
# A whole mark read this surely is kept whole only if its shape is also this typical (|z|).
SURE_ASPECT_Z = 2.0

# With a wholeness model (``ml.wholeness``): each piece also scores WHOLE_WEIGHT times the log of
# its probability of being one whole digit, and a mark is read whole without trying cuts only
# when that probability is at least WHOLE_KEEP. Chosen on benchmarks/number_reading.py (seed
# 2026): weight 1 read the touching kinds 65%/58% exact, 2 and 3 about 68%/67%. WHOLE_KEEP 0.3
# read them 62.5%/63.5% but lost 10 of 2,700 single digits in auto mode; 0.15 reads them
# 59.5%/61% and loses 7 (5 without the wholeness part): single digits come first.
WHOLE_WEIGHT = 2.0
WHOLE_KEEP = 0.15
# Cut pieces are read lazily (``_split``). No piece scores above BEST_SCORE: a score is a
# log-probability less penalties. Each round reads the unread pieces of the leading chain, then
# of the chain that would lead if those read as no digit, and so on for LAZY_PASSES chains:
# the pieces later rounds would read one chain at a time, in one model call. Measured on 8
# 12 MP photos, 16 photo_touching and 10 pad_touching numbers that need a search (seed 2026,
# interleaved, ms per read): the best chains of 3 counts a round (the fifth session) 66 / 129 /
# 238; 8 passes 50 / 88 / 183; 12, 24 and 48 passes no better. Simulated, 8 passes read
# fewer pieces (30 against 39 on 12 MP photos) in a third of the rounds.
BEST_SCORE = 0.0
LAZY_PASSES = 8

PredictProba = Callable[[np.ndarray], np.ndarray]
# (inputs (n, 28, 28), boxes (n, 4) as y0, y1, x0, x1, line height) -> (n,) probabilities
Wholeness = Callable[[np.ndarray, np.ndarray, float], np.ndarray]
# The same arguments -> (PredictProba's (n, 10), Wholeness's (n,)), in one go.
ReadPieces = Callable[[np.ndarray, np.ndarray, float], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class DigitCrop:
    """One digit of a line: ``box`` (x0, y0, x1, y1) in the image's pixels (x1, y1 exclusive),
    ``model_input`` (28, 28) float32 in [0, 1] in MNIST's format, and ``probabilities`` (10,)
    when the segmenter already read it with the model (None otherwise)."""

    box: tuple[int, int, int, int]
    model_input: np.ndarray
    probabilities: np.ndarray | None = None


@dataclass
class _Group:
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

    def absorb(self, other: _Group) -> None:
        self.labels += other.labels
        self.y0, self.y1 = min(self.y0, other.y0), max(self.y1, other.y1)
        self.x0, self.x1 = min(self.x0, other.x0), max(self.x1, other.x1)
        self.mass += other.mass
        self.area += other.area


def _without_ruled_rows(mask: np.ndarray) -> np.ndarray:
    """Remove what is left of ruled paper's lines: rows (columns) mostly inked across the
    frame, except where a stroke crosses them (a run across them longer than a
    printed line is thick). to_mnist's rule removal needs whole lines, which a faint line
    broken into dashes at this resolution is not."""
    h, w = mask.shape
    out = mask
    # A digit's stem fills most of a column of a tight crop; only a margin line fills all of it.
    for axis, fill in ((1, w * RULED_ROW_FILL), (0, h * RULED_COLUMN_FILL)):
        counts = mask.sum(axis=axis)
        lines = ndi.maximum_filter1d(counts > fill, 3)
        if not lines.any():
            continue
        # Pixels in a run at least 7 long across the line's direction belong to a stroke.
        shape = (7, 1) if axis == 1 else (1, 7)
        crossing = ndi.binary_opening(mask, structure=np.ones(shape, dtype=bool))
        on_line = lines[:, None] if axis == 1 else lines[None, :]
        out = out & ~(on_line & ~crossing)
    return out


def _marks(marks: Marks) -> tuple[np.ndarray, list[_Group]]:
    """Label the marks, joining pieces less than about a stroke width apart (a dotted or broken
    stroke), and drop blots, the sheet's edge and the dashes of printed rules. Returns the
    (h, w) int32 labels and one single-mark group per label kept."""
    full = _without_ruled_rows(marks.mask)
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
        g = _Group(
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
    return labels, _without_rules(groups, width, full.shape)


def _without_rules(groups: list[_Group], stroke: float, shape: tuple[int, int]) -> list[_Group]:
    """Drop the dashes of printed rules (a notebook's lines or margin, broken where faint): two
    thin marks along one row (column) that together span half the frame, or three a third."""
    dropped: set[int] = set()
    for axis in (0, 1):

        def across(g: _Group, axis: int = axis) -> tuple[int, int]:
            return (g.y0, g.y1) if axis == 0 else (g.x0, g.x1)

        def along(g: _Group, axis: int = axis) -> tuple[int, int]:
            return (g.x0, g.x1) if axis == 0 else (g.y0, g.y1)

        thin = []
        for g in groups:
            a0, a1 = along(g)
            c0, c1 = across(g)
            if c1 - c0 <= max(3.0, 2.5 * stroke) and a1 - a0 > 2 * (c1 - c0):
                thin.append(g)
        frame = shape[1] if axis == 0 else shape[0]
        for g in thin:
            line = [t for t in thin if _overlap(*across(g), *across(t)) > 0]
            span = max(along(t)[1] for t in line) - min(along(t)[0] for t in line)
            if (len(line) >= 2 and span >= 0.5 * frame) or (len(line) >= 3 and span >= 0.3 * frame):
                dropped.update(id(t) for t in line)
    return [g for g in groups if id(g) not in dropped]


def _line_height(groups: list[_Group]) -> float:
    """The height of the line's digits: the tall marks among those with real ink."""
    # Flat slivers (pieces of ruled lines) are no writing: many of them beside one digit would
    # otherwise pass for the line, with the digit taken for the "far heavier" blot below.
    writing = [g for g in groups if g.width <= 4 * g.height] or groups
    masses = sorted((g.mass for g in writing), reverse=True)
    # One mark far heavier than the rest is a shadow or a blot linked to a digit, not the scale.
    top = masses[1] if len(masses) > 1 and masses[0] > 4 * masses[1] else masses[0]
    heights = np.array([g.height for g in writing if g.mass >= 0.15 * top])
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


def _without_margin_line(groups: list[_Group], height: float) -> list[_Group]:
    """Drop what is left of a margin line where it does not cross the writing, which would
    otherwise stand as a second line above or below the number: a straight, thin mark more
    than twice as tall as the line's digits (a 1 is never that tall), or a faint sliver (a
    pen's 1 of that height carries far more ink)."""
    tall = [g.mass for g in groups if g.height >= 0.5 * height]
    typical = float(np.median(tall)) if tall else 0.0

    def rule(g: _Group) -> bool:
        thin = g.width < 0.15 * g.height
        return thin and (
            g.height > 2 * height or (g.width < 0.1 * g.height and g.mass < 0.25 * typical)
        )

    return [g for g in groups if not rule(g)]


def _without_faint_lines(groups: list[_Group], height: float) -> list[_Group]:
    """Drop the bands above or below the writing whose marks are all far fainter than its
    strongest (FAINT_LINE): what is left of printed lines where they cross each other or a
    margin, which would otherwise stand as a second line of writing. One pen's strokes are
    about equally dark (the faintest digit of a number is above 0.6 of the darkest)."""
    main = [g for g in groups if g.height >= 0.5 * height and g.area > 0]
    bands = _bands(main)
    if len(bands) < 2:
        return groups

    def strength(g: _Group) -> float:
        return g.mass / g.area

    strongest = max(strength(g) for g in main)
    faint = {
        id(g)
        for band in bands
        if all(strength(g) < FAINT_LINE * strongest for g in band)
        for g in band
    }
    return [g for g in groups if id(g) not in faint]


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
    # A thin dash longer than a 5's bar or a 7's crossbar: what is left of a ruled line.
    small = [
        g
        for g in groups
        if g.height < 0.5 * height and not (g.height <= 0.1 * height and g.width > 0.7 * height)
    ]
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
    # All in a window of the analysed image whose top-left pixel is ``origin`` (y, x).
    mask: np.ndarray  # (h, w) bool, the piece's ink
    box: tuple[int, int, int, int]  # y0, y1, x0, x1 window pixels
    allowed: np.ndarray  # (h, w) bool, where its soft crop may take ink from
    origin: tuple[int, int]

    def analysed_box(self) -> tuple[int, int, int, int]:
        y0, y1, x0, x1 = self.box
        oy, ox = self.origin
        return y0 + oy, y1 + oy, x0 + ox, x1 + ox


def _cut_paths(own: np.ndarray, columns: list[int], reach: int) -> np.ndarray:
    """For each of ``columns``, the top-to-bottom cut of least ink through ``own`` (h, w) bool
    that starts near it, moves at most one column per row and stays within ``reach`` of it.
    Returns (len(columns), h) int64 columns."""
    h, w = own.shape
    offsets = np.arange(-reach, reach + 1)
    centre = np.asarray(columns)[:, None]
    span = centre + offsets[None, :]  # (k, 2 * reach + 1)
    inside = (span >= 0) & (span < w)
    # Ink costs most; drifting from the chosen column a little, so empty runs stay straight.
    cost = own[:, np.clip(span, 0, w - 1)].astype(np.float32)  # (h, k, 2 * reach + 1)
    cost += np.float32(0.01) * np.abs(offsets)
    cost[:, ~inside] = np.inf
    # The running totals with an infinite column each side: a cut's way from the column to its
    # left, its own and the one to its right are three views of one buffer.
    padded = np.full((len(columns), cost.shape[2] + 2), np.inf, dtype=np.float32)
    total = padded[:, 1:-1]
    total[...] = cost[0]
    left, right = padded[:, :-2], padded[:, 2:]
    back = np.zeros(cost.shape, dtype=np.int8)
    for y in range(1, h):
        # The first of left, own, right that is least, as np.argmin over the three would pick.
        own_better = total < left
        best = np.where(own_better, total, left)
        right_better = right < best
        np.copyto(best, right, where=right_better)
        step = back[y]
        step[...] = own_better
        step[right_better] = 2
        step -= 1
        np.add(best, cost[y], out=total)
    at = np.argmin(total, axis=1)
    rows = np.arange(len(columns))
    paths = np.empty((len(columns), h), dtype=np.int64)
    for y in range(h - 1, -1, -1):
        paths[:, y] = at
        at = at + back[y, rows, at]
    return paths - reach + centre


@dataclass
class _Window:
    """A digit group's surroundings: ``own`` (h, w) bool its ink, ``ink`` (h, w) bool all the
    marks, ``group`` its box in window pixels, ``origin`` (y, x) of the window in the image."""

    own: np.ndarray
    ink: np.ndarray
    group: _Group
    origin: tuple[int, int]


def _piece(window: _Window, left: np.ndarray, right: np.ndarray) -> _Piece | None:
    """The ink of the window's group between the cuts ``left`` and ``right`` ((group height,)
    columns within the group's box), minus the stray tips of a neighbour's strokes that cross
    a cut."""
    own, group = window.own, window.group
    y0, y1, x0, x1 = group.y0, group.y1, group.x0, group.x1
    xs = np.arange(x1 - x0)[None, :]
    between = (xs >= left[:, None]) & (xs < right[:, None])
    part = own[y0:y1, x0:x1] & between
    labels, n = ndi.label(part, structure=np.ones((3, 3), dtype=bool))
    if n == 0:
        return None
    if n > 1:
        areas = np.bincount(labels.ravel())[1:]
        keep = np.concatenate([[False], areas >= 0.15 * areas.max()])
        part = keep[labels]
    ys = np.flatnonzero(part.any(axis=1))
    cols = np.flatnonzero(part.any(axis=0))
    box = (y0 + int(ys[0]), y0 + int(ys[-1]) + 1, x0 + int(cols[0]), x0 + int(cols[-1]) + 1)
    full = np.zeros_like(own)
    full[y0:y1, x0:x1] = part
    allowed = ~(window.ink & ~full)
    allowed[y0:y1, x0:x1] &= between
    return _Piece(full, box, allowed, window.origin)


def _aspect_penalty(box: tuple[int, int, int, int], digit: int) -> float:
    """How unlike ``digit`` a piece of ink with ``box`` (y0, y1, x0, x1) is in shape: nothing
    within ASPECT_FREE spreads of the digit's typical aspect, then a squared z-score, linear
    beyond 1.5 more (MNIST's tails are heavier than a normal's)."""
    z = max(0.0, abs(_aspect_z(box, digit)) - ASPECT_FREE)
    return 0.5 * z * z if z <= 1.5 else 1.5 * z - 1.125


def _aspect_z(box: tuple[int, int, int, int], digit: int) -> float:
    y0, y1, x0, x1 = box
    aspect = np.log(max(x1 - x0, 1) / max(y1 - y0, 1))
    return float((aspect - ASPECT_LOG_MEDIAN[digit]) / ASPECT_LOG_SPREAD[digit])


def _side_by_side(own: np.ndarray, height: float) -> bool:
    """Whether ``own`` (h, w) bool holds two or more pieces of ink, each as tall as a digit,
    side by side (sharing at most a third of the narrower one's columns): two close digits
    the stroke-gap rule linked into one mark, rarely one digit written in two strokes."""
    labels, n = ndi.label(own, structure=np.ones((3, 3), dtype=bool))
    if n < 2:
        return False
    spans = []
    for sl in ndi.find_objects(labels):
        if sl is not None and sl[0].stop - sl[0].start >= MIN_PIECE_HEIGHT * height:
            spans.append((sl[1].start, sl[1].stop))
    for (a0, a1), (b0, b1) in itertools.combinations(spans, 2):
        if _overlap(a0, a1, b0, b1) <= min(a1 - a0, b1 - b0) / 3:
            return True
    return False


def _tall_enough(
    own: np.ndarray, cuts: list[np.ndarray], spans: list[tuple[int, int]], least: float
) -> list[tuple[int, int]]:
    """The ``spans`` (i, j) whose ink in ``own`` (h, w) bool between cuts i and j reaches over
    at least ``least`` rows: a piece ``_piece`` cuts there is never taller, so the others would
    only be read to be dropped."""
    if not spans:
        return []
    h, w = own.shape
    # before[r, x]: ink in row r left of column x.
    before = np.zeros((h, w + 1), dtype=np.int32)
    np.cumsum(own, axis=1, out=before[:, 1:])
    edges = np.clip(np.stack(cuts), 0, w)  # (cuts, h)
    i, j = np.array(spans).T
    rows = np.arange(h)
    inked = before[rows, edges[j]] > before[rows, edges[i]]  # (spans, h)
    first = np.argmax(inked, axis=1)
    last = h - 1 - np.argmax(inked[:, ::-1], axis=1)
    tall = inked.any(axis=1) & (last - first + 1 >= least)
    return [span for span, keep in zip(spans, tall, strict=True) if keep]


def _crossings(along: np.ndarray) -> int:
    """How many separate runs of ink a cut meets: ``along`` (h,) bool, the ink under its path."""
    return int(np.count_nonzero(along[1:] & ~along[:-1]) + int(along[0]))


def _edge(height: float) -> int:
    """How far from a group's side a cut may start: the narrowest piece (MIN_PIECE_WIDTH)."""
    return max(1, round(MIN_PIECE_WIDTH * height))


def _every(width: int, height: float, step: float) -> list[int]:
    """Columns every ``step`` line heights across a group ``width`` wide, ``_edge`` from its
    sides."""
    edge = _edge(height)
    return list(range(edge, width - edge + 1, max(2, round(step * height))))


def _cut_columns(own: np.ndarray, height: float, *, grid: bool = True) -> list[int]:
    """Candidate columns to cut a group's ink (h, w) bool: the local minima of the column
    profile (where few pixels are ink), and unless not ``grid`` a regular grid between them,
    since where two digits overlap the way between them is rarely the thinnest column."""
    w = own.shape[1]
    profile = ndi.uniform_filter1d(own.sum(axis=0).astype(np.float64), 3)
    edge = _edge(height)
    spacing = max(2, round(0.12 * height))
    low = ndi.minimum_filter1d(profile, 2 * spacing + 1)
    minima = [c for c in range(edge, w - edge + 1) if profile[c] <= low[c]]
    regular = _every(w, height, GRID_STEP) if grid else []
    picks: list[int] = []
    for c in sorted(minima, key=lambda c: profile[c]) + regular:
        if all(abs(c - p) >= 0.5 * spacing for p in picks):
            picks.append(c)
    return sorted(picks)


def candidate_cuts(local: np.ndarray, height: float, *, straight: bool = True) -> list[np.ndarray]:
    """Every cut tried through a group's ink ``local`` (h, w) bool, left to right (by their
    middle column), each (h,) columns: its left edge, the least-ink paths from
    ``_cut_columns`` and, if ``straight`` and the group is at least STRAIGHT_ABOVE line heights
    wide, straight cuts every STRAIGHT_STEP instead of least-ink paths from a grid, its right
    edge."""
    h, w = local.shape
    wide = straight and w >= STRAIGHT_ABOVE * height
    columns = _cut_columns(local, height, grid=not wide)
    paths = list(_cut_paths(local, columns, max(1, round(0.2 * height)))) if columns else []
    if wide:
        down = _every(w, height, STRAIGHT_STEP)
        if down:
            # One column of give, so a cut slips past a stroke it only grazes.
            paths += list(_cut_paths(local, down, 1))
            middles = cut_middles(paths)
            paths = [paths[k] for k in np.argsort(middles, kind="stable")]
    return [np.zeros(h, dtype=np.int64), *paths, np.full(h, w, dtype=np.int64)]


def cut_middles(cuts: list[np.ndarray]) -> list[float]:
    """Each cut's middle column: the median of its (h,) columns."""
    return np.median(np.stack(cuts), axis=1).tolist()


def _crop_input(marks: Marks, piece: _Piece) -> np.ndarray | None:
    crop = marks.soft_crop(piece.mask, piece.box, allowed=piece.allowed, origin=piece.origin)
    return normalise_crop(crop)


def _split(
    marks: Marks,
    window: _Window,
    height: float,
    predict_proba: PredictProba | None,
    *,
    alone: bool,
    whole: tuple[_Piece, np.ndarray] | None,
    p_whole: float | None = None,
    whole_proba: np.ndarray | None = None,
    wholeness: Wholeness | None = None,
    read_pieces: ReadPieces | None = None,
) -> list[tuple[_Piece, np.ndarray, np.ndarray | None]]:
    """Read a group whole or cut into pieces, whichever the model finds most probable.

    Without ``predict_proba`` the group is read whole. Otherwise a group up to SPLIT_ABOVE
    line heights wide is read whole, and so is one up to ALWAYS_SPLIT_ABOVE (ALONE_SPLIT_ABOVE
    when ``alone`` in its line) that the model reads whole with at least SURE_WHOLE and whose
    shape fits that digit (SURE_ASPECT_Z) -- unless it is side-by-side tall pieces (two close
    digits linked). Else cuts are chosen among least-ink paths from candidate columns: the
    count of pieces whose mean score is highest wins, a piece scoring its log-probability less
    its shape penalty (ASPECT_WEIGHT) and CROSSING_PENALTY per stroke its cut crosses; reading
    whole has a head start of SPLIT_MARGIN unless the pieces stand apart. A dot is no digit.
    ``whole`` is ``_whole(marks, window)`` and ``whole_proba`` the model's probabilities for
    it (given with ``predict_proba``). With ``wholeness``, the shortcuts to reading whole also
    need the mark to look whole (``p_whole``, its wholeness, at least WHOLE_KEEP), and every
    piece's score gains WHOLE_WEIGHT times its log-wholeness; ``read_pieces``, if given, does
    both reads at once.
    Returns (piece, model input, probabilities) each.
    """
    if whole is None:
        # Nothing, or a dot or a blot no longer than a few stroke widths: its halves are no
        # digits either.
        return []
    whole, x = whole
    x_whole = x
    group = window.group
    gh, gw = group.height, group.width
    ratio = gw / height
    if predict_proba is None:
        return [(whole, x, None)]
    local = window.own[group.y0 : group.y1, group.x0 : group.x1]
    apart = _side_by_side(local, height)
    looks_whole = p_whole is None or p_whole >= WHOLE_KEEP
    if ratio <= SPLIT_ABOVE and not apart and looks_whole:
        return [(whole, x, whole_proba)]
    whole_digit = int(np.argmax(whole_proba))
    sure = float(whole_proba[whole_digit]) >= SURE_WHOLE
    typical = abs(_aspect_z(whole.box, whole_digit)) <= SURE_ASPECT_Z
    widest_whole = ALONE_SPLIT_ABOVE if alone else ALWAYS_SPLIT_ABOVE
    if sure and typical and not apart and ratio <= widest_whole and looks_whole:
        return [(whole, x, whole_proba)]
    # Straight cuts leave slivers and loops that a digit model alone reads surely (a 9's loop
    # as a 0); the wholeness part learned them as pieces, so only a model with one cuts straight.
    cuts = candidate_cuts(local, height, straight=wholeness is not None)
    rows = np.arange(gh)
    # Strokes each cut crosses: one where two digits touch, two through the middle of a 0.
    crossed = [0] + [_crossings(local[rows, np.minimum(c, gw - 1)]) for c in cuts[1:-1]] + [0]
    widest = MAX_PIECE_WIDTH * height
    narrowest = MIN_PIECE_WIDTH * height
    last = len(cuts) - 1
    reader = _SpanReader(marks, window, cuts, height, predict_proba, wholeness, read_pieces)
    reader.know((0, last), whole, x_whole, whole_proba, p_whole)
    middle = reader.middle
    spans = [
        (i, j)
        for i, j in itertools.combinations(range(len(cuts)), 2)
        if narrowest <= middle[j] - middle[i] <= widest and (i, j) != (0, last)
    ]
    # The whole is always a candidate: its shape prior weighs how unlikely it is as one.
    spans = [(0, last), *_tall_enough(local, cuts, spans, MIN_PIECE_HEIGHT * height)]
    # Spans are read lazily: a chain is only worth reading if, counting every unread piece at
    # the best score any piece can have, it could still win. The chosen chain is the one
    # reading every span would choose, for a third to a half of the reading.
    chains = _Chains(spans, last, crossed, BEST_SCORE)
    todo = [(0, last)]
    while True:
        reader.read(todo)
        for span in todo:
            chains.set(span, reader.scores.get(span, -np.inf))
        chain = _leader(chains, last, apart)
        if chain is None:
            # No way to cut it into digit-sized pieces (a 2 with a long tail): one digit.
            return [(whole, x_whole, whole_proba)]
        if all(span in reader.scores for span in chain):
            return [(*reader.pieces[span], reader.proba[span]) for span in chain]
        # The unread pieces of the leading chain, then of the chain that would lead if they
        # read as no digit, and so on; read in one batch, their scores replace the -inf.
        unread: set[tuple[int, int]] = set()
        for _ in range(LAZY_PASSES):
            picked = [span for span in chain if span not in reader.scores and span not in unread]
            if not picked:
                break
            unread.update(picked)
            for span in picked:
                chains.set(span, -np.inf)
            chain = _leader(chains, last, apart)
            if chain is None:
                break
        todo = sorted(unread)


def _leader(chains: _Chains, last: int, apart: bool) -> list[tuple[int, int]] | None:
    """The best chain of the count of pieces whose mean score is highest (the whole has a head
    start of SPLIT_MARGIN unless its pieces stand apart); None when no count scores at all."""
    best, parent = chains.best()
    means = best[last] / np.maximum(np.arange(last + 1), 1)
    means[0] = -np.inf
    if np.isfinite(means[1]) and not apart:
        means[1] += SPLIT_MARGIN
    count = int(np.argmax(means))
    return _chain(parent, last, count) if np.isfinite(means[count]) else None


class _SpanReader:
    """Reads and scores the pieces between pairs of cuts of a group, on demand.

    ``scores`` maps each span read (i, j) to its piece's score, ``pieces`` to its (piece,
    model input), ``proba`` to the model's probabilities for it and ``whole`` to its
    wholeness. A span given to ``know`` beforehand is scored, not cut or read again. A span
    whose piece is no digit (nothing, a tip shorter than MIN_PIECE_HEIGHT, a dot) gets no
    score."""

    def __init__(
        self,
        marks: Marks,
        window: _Window,
        cuts: list[np.ndarray],
        height: float,
        predict_proba: PredictProba,
        wholeness: Wholeness | None,
        read_pieces: ReadPieces | None = None,
    ) -> None:
        self.marks, self.window, self.cuts, self.height = marks, window, cuts, height
        self.predict_proba, self.wholeness, self.read_pieces = predict_proba, wholeness, read_pieces
        self.middle = cut_middles(cuts)
        self.scores: dict[tuple[int, int], float] = {}
        self.pieces: dict[tuple[int, int], tuple[_Piece, np.ndarray]] = {}
        self.proba: dict[tuple[int, int], np.ndarray] = {}
        self.whole: dict[tuple[int, int], float] = {}

    def know(
        self,
        span: tuple[int, int],
        piece: _Piece,
        x: np.ndarray,
        proba: np.ndarray,
        whole: float | None,
    ) -> None:
        self.pieces[span] = (piece, x)
        self.proba[span] = proba
        if whole is not None:
            self.whole[span] = whole

    def read(self, spans: list[tuple[int, int]]) -> None:
        height = self.height
        found = []
        for i, j in spans:
            if (i, j) in self.pieces:
                found.append(((i, j), *self.pieces[(i, j)]))
                continue
            piece = _piece(self.window, self.cuts[i], self.cuts[j])
            if piece is not None and piece.box[1] - piece.box[0] < MIN_PIECE_HEIGHT * height:
                # A tip or a tail cut off a digit, not a digit: digits stand as tall as the line.
                piece = None
            x = _crop_input(self.marks, piece) if piece is not None else None
            if x is not None:
                found.append(((i, j), piece, x))
        if not found:
            return
        # Only what is not known yet goes to the model (the whole mark was read before).
        unread = [(span, piece, x) for span, piece, x in found if span not in self.proba]
        if unread:
            spans = [span for span, _, _ in unread]
            inputs = np.stack([x for _, _, x in unread])
            boxes = np.array([piece.box for _, piece, _ in unread])
            rows, ps = _model_reads(
                inputs, boxes, height, self.predict_proba, self.wholeness, self.read_pieces
            )
            self.proba.update(zip(spans, rows, strict=True))
            if ps is not None:
                self.whole.update(zip(spans, ps, strict=True))
        for span, piece, x in found:
            row = self.proba[span]
            digit = int(np.argmax(row))
            value = float(np.log(max(row[digit], 1e-3)))
            value -= ASPECT_WEIGHT * _aspect_penalty(piece.box, digit)
            # A sliver read as anything but a 1 is most likely part of a digit.
            if self.middle[span[1]] - self.middle[span[0]] < NARROW_PIECE * height and digit != 1:
                value -= NARROW_PENALTY
            if self.wholeness is not None:
                value += WHOLE_WEIGHT * float(np.log(max(self.whole[span], 0.02)))
            # A 1 stands as tall as the line; a shorter stroke is an arc cut off a digit.
            if digit == 1 and piece.box[1] - piece.box[0] < SHORT_ONE * height:
                value -= SHORT_ONE_PENALTY
            self.scores[span] = value
            self.pieces[span] = (piece, x)


def _model_reads(
    inputs: np.ndarray,
    boxes: np.ndarray,
    height: float,
    predict_proba: PredictProba,
    wholeness: Wholeness | None,
    read_pieces: ReadPieces | None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """The model's probabilities (n, 10) for pieces and, with ``wholeness``, how whole each
    looks (n,), else None; in one go through ``read_pieces`` when there is one."""
    if wholeness is None:
        return predict_proba(inputs), None
    if read_pieces is not None:
        return read_pieces(inputs, boxes, height)
    return predict_proba(inputs), wholeness(inputs, boxes, height)


class _Chains:
    """The best chains of pieces across a group's cuts 0..last: each piece is one of
    ``spans`` (i, j), worth ``value[index[span]]`` (at first ``start``; -inf for no piece)
    less CROSSING_PENALTY per stroke its left cut crosses."""

    def __init__(
        self, spans: list[tuple[int, int]], last: int, crossed: list[int], start: float
    ) -> None:
        # By right cut, then left cut: the spans ending at one cut are a slice.
        order = sorted(spans, key=lambda span: (span[1], span[0]))
        self.last = last
        self.index = {span: k for k, span in enumerate(order)}
        self.value = np.full(len(order), start, dtype=np.float64)
        starts = np.array([i for i, _ in order], dtype=np.int64)
        self.cost = CROSSING_PENALTY * np.array([crossed[i] for i in starts], dtype=np.float64)
        ends = np.array([j for _, j in order], dtype=np.int64)
        self.groups = []
        for j in range(1, last + 1):
            lo, hi = np.searchsorted(ends, j), np.searchsorted(ends, j, side="right")
            if hi > lo:
                self.groups.append((j, slice(lo, hi), starts[lo:hi]))

    def set(self, span: tuple[int, int], value: float) -> None:
        self.value[self.index[span]] = value

    def best(self) -> tuple[np.ndarray, np.ndarray]:
        """best[j, n]: the highest total worth of n pieces from the left edge to cut j;
        parent[j, n]: the cut before j on that chain."""
        best = np.full((self.last + 1, self.last + 1), -np.inf)
        parent = np.full((self.last + 1, self.last + 1), -1, dtype=np.int64)
        best[0, 0] = 0.0
        columns = np.arange(self.last)
        for j, ending, starts in self.groups:
            totals = best[starts, :-1] + self.value[ending, None] - self.cost[ending, None]
            # The first start wins a tie, as a left-to-right scan would.
            k = np.argmax(totals, axis=0)
            best[j, 1:] = totals[k, columns]
            parent[j, 1:] = starts[k]
        return best, parent


def _chain(parent: np.ndarray, last: int, count: int) -> list[tuple[int, int]]:
    """The spans, left to right, of the best chain of ``count`` pieces ending at cut ``last``."""
    chain, j = [], last
    for n in range(count, 0, -1):
        i = int(parent[j, n])
        chain.append((i, j))
        j = i
    return chain[::-1]


def _whole(marks: Marks, window: _Window) -> tuple[_Piece, np.ndarray] | None:
    """A group's ink read whole: its piece and model input, or None for a dot or a blot."""
    group = window.group
    left, right = (
        np.zeros(group.height, dtype=np.int64),
        np.full(group.height, group.width, dtype=np.int64),
    )
    piece = _piece(window, left, right)
    x = _crop_input(marks, piece) if piece is not None else None
    return (piece, x) if x is not None else None


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


def segment(
    image: Image.Image,
    *,
    predict_proba: PredictProba | None = None,
    wholeness: Wholeness | None = None,
    read_pieces: ReadPieces | None = None,
) -> list[DigitCrop]:
    """Cut the one line of digits in ``image`` into digit crops, left to right.

    ``predict_proba`` ((n, 28, 28) float32 -> (n, 10) float64, e.g. ``Model.predict_proba``)
    chooses where touching digits are cut; without it the cut goes through the thinnest ink
    and marks narrow enough for one digit are kept whole. ``wholeness`` (e.g.
    ``Model.whole_proba``) weighs how much each candidate piece looks like one whole digit;
    ``read_pieces`` (e.g. ``Model.read_pieces``), if given with both, does the two at once.
    Raises ``ImageRejected`` with code ``no_digit`` (no ink), ``several_lines`` (writing on
    more than one line) or ``too_many_marks`` (more than ``MAX_MARKS`` marks in the line).
    """
    marks, labels, groups, height = _analyse(image, None, LINE_LONG_SIDE)
    groups = _without_faint_lines(_without_margin_line(groups, height), height)
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
            if len(digits) > MAX_MARKS:
                raise _too_many(len(digits))
    crops: list[DigitCrop] = []
    h, w = labels.shape
    windows, wholes = [], []
    for d in digits:
        # Each digit is worked on in a window a little larger than its box (the soft crop's
        # halo is 2 pixels): the same result as on the whole image, for far less work.
        wy0, wy1 = max(0, d.y0 - 3), min(h, d.y1 + 3)
        wx0, wx1 = max(0, d.x0 - 3), min(w, d.x1 + 3)
        window = _Window(
            own=np.isin(labels[wy0:wy1, wx0:wx1], d.labels),
            ink=marks.mask[wy0:wy1, wx0:wx1],
            group=_Group(d.labels, d.y0 - wy0, d.y1 - wy0, d.x0 - wx0, d.x1 - wx0, d.mass),
            origin=(wy0, wx0),
        )
        windows.append(window)
        wholes.append(_whole(marks, window))
    # One call for every mark of the line, each part of the model: most marks are read whole
    # on this alone.
    p_wholes: list[float | None] = [None] * len(wholes)
    probas: list[np.ndarray | None] = [None] * len(wholes)
    found = [k for k, whole in enumerate(wholes) if whole is not None]
    if predict_proba is not None and found:
        inputs = np.stack([wholes[k][1] for k in found])
        boxes = np.array([wholes[k][0].box for k in found])
        rows, ps = _model_reads(inputs, boxes, height, predict_proba, wholeness, read_pieces)
        for k, row in zip(found, rows, strict=True):
            probas[k] = row
        if ps is not None:
            for k, p in zip(found, ps, strict=True):
                p_wholes[k] = float(p)
    for window, whole, p_whole, proba in zip(windows, wholes, p_wholes, probas, strict=True):
        for piece, x, row in _split(
            marks,
            window,
            height,
            predict_proba,
            alone=len(digits) == 1,
            whole=whole,
            p_whole=p_whole,
            whole_proba=proba,
            wholeness=wholeness,
            read_pieces=read_pieces,
        ):
            box = marks.image_box(piece.analysed_box())
            crops.append(DigitCrop(box=box, model_input=x, probabilities=row))
    if len(crops) > MAX_MARKS:
        raise _too_many(len(crops))
    if not crops:
        raise NoDigitFound()
    return crops
