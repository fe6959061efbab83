"""cuts: least-ink cut paths and the pieces between them."""

from __future__ import annotations

import numpy as np

from ml.cuts import (
    MIN_PIECE_HEIGHT,
    STRAIGHT_STEP,
    Window,
    _cut_paths,
    candidate_cuts,
    cut_piece,
    tall_enough,
)
from ml.grouping import Group


def _rings(centres: list[int], height: int = 50) -> np.ndarray:
    """Rings (0s) of ``height`` at ``centres``, overlapping where they are close: ink (h, w)."""
    yy, xx = np.mgrid[:height, : max(centres) + height // 2 + 2]
    ink = np.zeros(yy.shape, dtype=bool)
    for c in centres:
        r = np.hypot((xx - c) / 0.7, yy - height / 2) / (height / 2 - 1)
        ink |= (r > 0.75) & (r <= 1.0)
    return ink


def test_a_wide_mark_is_also_cut_straight_down_where_neighbours_overlap() -> None:
    # Two overlapping 0s: the least-ink path from the overlap runs down the gap inside one
    # ring and gives half of it to the other; straight cuts share the overlap.
    ink = _rings([22, 50])
    height = float(ink.shape[0])
    straight = [c for c in candidate_cuts(ink, height)[1:-1] if np.ptp(c) <= 2]
    assert len(straight) >= int(ink.shape[1] / height / STRAIGHT_STEP) - 3
    # Without a wholeness part to weigh them, and in a mark one digit wide, none are tried.
    assert len(candidate_cuts(ink, height, straight=False)) < len(candidate_cuts(ink, height))
    one = _rings([22])
    one = one[:, one.any(axis=0)]
    assert len(candidate_cuts(one, height)) == len(candidate_cuts(one, height, straight=False))


def test_spans_left_out_before_reading_are_those_whose_pieces_would_be_dropped() -> None:
    # Two overlapping 0s and a short tick above them: pieces of the tick alone are too short.
    ink = _rings([22, 50], height=50)
    ink[:6, 60:63] = True
    height = float(ink.shape[0])
    cuts = candidate_cuts(ink, height)
    spans = [(i, j) for i in range(len(cuts)) for j in range(i + 1, len(cuts))]
    least = MIN_PIECE_HEIGHT * height
    kept = set(tall_enough(ink, cuts, spans, least))
    h, w = ink.shape
    window = Window(own=ink, ink=ink, group=Group([1], 0, h, 0, w, 1.0), origin=(0, 0))
    dropped = 0
    for i, j in spans:
        piece = cut_piece(window, cuts[i], cuts[j])
        tall = piece is not None and piece.box[3] - piece.box[1] >= least
        assert (i, j) in kept or not tall, (i, j)
        dropped += (i, j) not in kept
    assert dropped > 0


def _reference_cut_paths(own: np.ndarray, columns: list[int], reach: int) -> np.ndarray:
    # The least-ink paths by plain loops: a step of at most one column a row, within reach of
    # the start column; a pixel costs its ink plus 0.01 per column off; ties go leftmost.
    h, w = own.shape
    paths = []
    for centre in columns:
        xs = list(range(centre - reach, centre + reach + 1))

        def cost(y: int, x: int, centre: int = centre) -> float:
            if not 0 <= x < w:
                return np.inf
            return float(np.float32(float(own[y, x]) + float(np.float32(0.01)) * abs(x - centre)))

        total = {x: np.float32(cost(0, x)) for x in xs}
        back = [{} for _ in range(h)]
        for y in range(1, h):
            new = {}
            for x in xs:
                came = min((x + d for d in (-1, 0, 1) if x + d in total), key=lambda c: total[c])
                back[y][x] = came
                new[x] = np.float32(total[came] + np.float32(cost(y, x)))
            total = new
        x = min(xs, key=lambda c: total[c])
        path = [x]
        for y in range(h - 1, 0, -1):
            x = back[y][x]
            path.append(x)
        paths.append(path[::-1])
    return np.array(paths)


def test_cut_paths_are_the_least_ink_paths_from_each_column() -> None:
    rng = np.random.default_rng(11)
    for _ in range(40):
        h, w = (int(n) for n in rng.integers(3, 30, size=2))
        own = rng.random((h, w)) < rng.uniform(0.1, 0.6)
        columns = sorted({int(c) for c in rng.integers(0, w, size=int(rng.integers(1, 6)))})
        reach = int(rng.integers(1, 5))
        expected = _reference_cut_paths(own, columns, reach)
        assert np.array_equal(_cut_paths(own, columns, reach), expected)
