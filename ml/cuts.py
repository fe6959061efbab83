"""Cut paths: the candidate cuts through a group of ink and the pieces between two of them.

A cut is one column per row of the group, found as a least-ink path from a candidate column (the
minima of the column profile, a grid) or straight down; ``cut_piece`` takes the ink between two.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from ml.grouping import Group
from ml.ruled import span_overlap

# A piece is 0.12-1.6 line heights wide: a 1 is about 0.2, a 2 with a long tail up to 1.6.
MIN_PIECE_WIDTH = 0.12
MAX_PIECE_WIDTH = 1.6
MIN_PIECE_HEIGHT = 0.5
# Candidate cuts are also tried every GRID_STEP line heights.
GRID_STEP = 0.2
# Marks this wide are also cut straight every STRAIGHT_STEP: it shares an overlap fairly.
STRAIGHT_ABOVE = 0.95
STRAIGHT_STEP = 0.1


@dataclass
class Piece:
    # All in a window of the analysed image whose top-left pixel is ``origin`` (y, x).
    mask: np.ndarray  # (h, w) bool, the piece's ink
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 window pixels
    allowed: np.ndarray  # (h, w) bool, where its soft crop may take ink from
    origin: tuple[int, int]

    def analysed_box(self) -> tuple[int, int, int, int]:
        x0, y0, x1, y1 = self.box
        oy, ox = self.origin
        return x0 + ox, y0 + oy, x1 + ox, y1 + oy


@dataclass
class Window:
    """A digit group's surroundings: ``own`` (h, w) bool its ink, ``ink`` (h, w) bool all the
    marks, ``group`` its box in window pixels, ``origin`` (y, x) of the window in the image."""

    own: np.ndarray
    ink: np.ndarray
    group: Group
    origin: tuple[int, int]


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


def cut_piece(window: Window, left: np.ndarray, right: np.ndarray) -> Piece | None:
    """The ink of the window's group between the cuts ``left`` and ``right`` ((group height,)
    columns within the group's box), minus the stray tips of a neighbour's strokes that cross
    a cut."""
    own, group = window.own, window.group
    y0, y1, x0, x1 = group.y0, group.y1, group.x0, group.x1
    xs = np.arange(x1 - x0)[None, :]
    between = (xs >= left[:, None]) & (xs < right[:, None])
    # Only the columns between the cuts can hold the piece: a wide mark's piece is labelled there.
    lo, hi = max(0, int(left.min())), min(x1 - x0, int(right.max()))
    if hi <= lo:
        return None
    part = own[y0:y1, x0 + lo : x0 + hi] & between[:, lo:hi]
    labels, n = ndi.label(part, structure=np.ones((3, 3), dtype=bool))
    if n == 0:
        return None
    if n > 1:
        areas = np.bincount(labels.ravel())[1:]
        keep = np.concatenate([[False], areas >= 0.15 * areas.max()])
        part = keep[labels]
    ys = np.flatnonzero(part.any(axis=1))
    cols = np.flatnonzero(part.any(axis=0)) + lo
    box = (x0 + int(cols[0]), y0 + int(ys[0]), x0 + int(cols[-1]) + 1, y0 + int(ys[-1]) + 1)
    full = np.zeros_like(own)
    full[y0:y1, x0 + lo : x0 + hi] = part
    allowed = ~(window.ink & ~full)
    allowed[y0:y1, x0:x1] &= between
    return Piece(full, box, allowed, window.origin)


def side_by_side(own: np.ndarray, height: float) -> bool:
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
        if span_overlap(a0, a1, b0, b1) <= min(a1 - a0, b1 - b0) / 3:
            return True
    return False


def tall_enough(
    own: np.ndarray, cuts: list[np.ndarray], spans: list[tuple[int, int]], least: float
) -> list[tuple[int, int]]:
    """The ``spans`` (i, j) whose ink in ``own`` (h, w) bool between cuts i and j reaches over
    at least ``least`` rows: a piece ``cut_piece`` cuts there is never taller, so the others would
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


def crossings(along: np.ndarray) -> int:
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
