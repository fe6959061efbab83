"""Printed lines removed from the ink: ruled and squared paper, margin lines and faint lines.

Every rule of this kind lives here. Pixel-level rules act on an ink mask (whole lines across
the frame; the dashes left of them at the line scale); mark-level rules drop whole marks that are
what is left of lines (dashes along one row, a margin line, a faint band beside the writing).
Marks are anything with an ``Extent`` (``ml.grouping.Group`` is one).
"""

from __future__ import annotations

from typing import Protocol, TypeVar

import numpy as np
from scipy import ndimage as ndi

# Rows (columns) this much inked are ruled lines (a margin line), not writing.
RULED_ROW_FILL = 0.5
RULED_COLUMN_FILL = 0.85
# A band of marks whose ink is all fainter than this share of the writing's is no writing.
FAINT_LINE = 0.5


class Extent(Protocol):
    """A mark's box in analysed pixels (y0, x0 inclusive, y1, x1 exclusive) and its ink."""

    y0: int
    y1: int
    x0: int
    x1: int
    mass: float
    area: int

    @property
    def height(self) -> int: ...

    @property
    def width(self) -> int: ...


M = TypeVar("M", bound=Extent)


def without_ruled_lines(mask: np.ndarray) -> np.ndarray:
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


def without_ruled_rows(mask: np.ndarray) -> np.ndarray:
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


def without_rule_dashes(groups: list[M], stroke: float, shape: tuple[int, int]) -> list[M]:
    """Drop the dashes of printed rules (a notebook's lines or margin, broken where faint): two
    thin marks along one row (column) that together span half the frame, or three a third."""
    dropped: set[int] = set()
    for axis in (0, 1):

        def across(g: Extent, axis: int = axis) -> tuple[int, int]:
            return (g.y0, g.y1) if axis == 0 else (g.x0, g.x1)

        def along(g: Extent, axis: int = axis) -> tuple[int, int]:
            return (g.x0, g.x1) if axis == 0 else (g.y0, g.y1)

        thin = []
        for g in groups:
            a0, a1 = along(g)
            c0, c1 = across(g)
            if c1 - c0 <= max(3.0, 2.5 * stroke) and a1 - a0 > 2 * (c1 - c0):
                thin.append(g)
        frame = shape[1] if axis == 0 else shape[0]
        for g in thin:
            line = [t for t in thin if span_overlap(*across(g), *across(t)) > 0]
            span = max(along(t)[1] for t in line) - min(along(t)[0] for t in line)
            if (len(line) >= 2 and span >= 0.5 * frame) or (len(line) >= 3 and span >= 0.3 * frame):
                dropped.update(id(t) for t in line)
    return [g for g in groups if id(g) not in dropped]


def without_margin_line(groups: list[M], height: float) -> list[M]:
    """Drop what is left of a margin line where it does not cross the writing, which would
    otherwise stand as a second line above or below the number: a straight, thin mark more
    than twice as tall as the line's digits (a 1 is never that tall), or a faint sliver (a
    pen's 1 of that height carries far more ink)."""
    tall = [g.mass for g in groups if g.height >= 0.5 * height]
    typical = float(np.median(tall)) if tall else 0.0

    def rule(g: Extent) -> bool:
        thin = g.width < 0.15 * g.height
        return thin and (
            g.height > 2 * height or (g.width < 0.1 * g.height and g.mass < 0.25 * typical)
        )

    return [g for g in groups if not rule(g)]


def without_faint_lines(groups: list[M], height: float) -> list[M]:
    """Drop the bands above or below the writing whose marks are all far fainter than its
    strongest (FAINT_LINE): what is left of printed lines where they cross each other or a
    margin, which would otherwise stand as a second line of writing. One pen's strokes are
    about equally dark (the faintest digit of a number is above 0.6 of the darkest)."""
    main = [g for g in groups if g.height >= 0.5 * height and g.area > 0]
    bands = stacked_bands(main)
    if len(bands) < 2:
        return groups

    def strength(g: Extent) -> float:
        return g.mass / g.area

    strongest = max(strength(g) for g in main)
    faint = {
        id(g)
        for band in bands
        if all(strength(g) < FAINT_LINE * strongest for g in band)
        for g in band
    }
    return [g for g in groups if id(g) not in faint]


def span_overlap(a0: int, a1: int, b0: int, b1: int) -> int:
    return min(a1, b1) - max(a0, b0)


def stacked_bands(groups: list[M]) -> list[list[M]]:
    """Groups stacked into horizontal bands of overlapping rows, top to bottom."""
    bands: list[list[M]] = []
    span: list[tuple[int, int]] = []
    for g in sorted(groups, key=lambda g: g.y0):
        if span and g.y0 < span[-1][1]:
            bands[-1].append(g)
            span[-1] = (span[-1][0], max(span[-1][1], g.y1))
        else:
            bands.append([g])
            span.append((g.y0, g.y1))
    return bands
