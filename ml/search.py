"""The cut search: each digit group of a line read whole or cut, whichever the model reads best.

``segment`` takes the line of ``ml.grouping.find_line``; a group too wide for one digit is cut along
``ml.cuts`` paths, where and into as many pieces as the model reads most confidently. Pieces are
read lazily: only the chains of pieces that could still win are read, in batches.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ml.budget import SearchBudget
from ml.crop import normalise_crop
from ml.cuts import (
    MAX_PIECE_WIDTH,
    MIN_PIECE_HEIGHT,
    MIN_PIECE_WIDTH,
    Piece,
    Window,
    candidate_cuts,
    crossings,
    cut_middles,
    cut_piece,
    side_by_side,
    tall_enough,
)
from ml.grouping import Marks

# Widths in line heights: read whole up to SPLIT_ABOVE, cut above ALWAYS_SPLIT_ABOVE.
SPLIT_ABOVE = 0.95
ALWAYS_SPLIT_ABOVE = 1.45
ALONE_SPLIT_ABOVE = 2.0
# A mark the model reads whole this surely is not cut, unless it is too wide for one digit.
SURE_WHOLE = 0.8
# Log-probability the cut pieces must gain over reading the mark whole.
SPLIT_MARGIN = 0.35
# A piece narrower than this many heights and not read as a 1 loses this log-probability.
NARROW_PIECE = 0.3
NARROW_PENALTY = 0.7
# A "1" shorter than this (line heights) is a sliver cut off a wide digit, so it is penalised.
SHORT_ONE = 0.75
SHORT_ONE_PENALTY = 3.0
# Log-probability a cut costs per stroke it crosses.
CROSSING_PENALTY = 0.35
# Each digit's typical log(width / height) and its spread, from MNIST train; a shape prior.
ASPECT_LOG_MEDIAN = (-0.105, -0.916, -0.051, -0.223, -0.223, -0.105, -0.357, -0.223, -0.288, -0.357)
ASPECT_LOG_SPREAD = (0.165, 0.449, 0.203, 0.186, 0.186, 0.244, 0.213, 0.186, 0.241, 0.213)
ASPECT_WEIGHT = 0.5
ASPECT_FREE = 1.5
# A whole mark read this surely is kept whole only if its shape is also this typical (|z|).
SURE_ASPECT_Z = 2.0
# Weight of a piece's log-wholeness in its score, and the wholeness to read a mark whole.
WHOLE_WEIGHT = 2.0
WHOLE_KEEP = 0.15
# No piece scores above this (a log-probability); chains are read LAZY_PASSES at a time.
BEST_SCORE = 0.0
LAZY_PASSES = 8
PredictProba = Callable[[np.ndarray], np.ndarray]
# (inputs (n, 28, 28), boxes (n, 4) as x0, y0, x1, y1, line height) -> (n,) probabilities
Wholeness = Callable[[np.ndarray, np.ndarray, float], np.ndarray]
# The same arguments -> (PredictProba's (n, 10), Wholeness's (n,)), in one go.
ReadPieces = Callable[[np.ndarray, np.ndarray, float], tuple[np.ndarray, np.ndarray]]


def _aspect_penalty(box: tuple[int, int, int, int], digit: int) -> float:
    """How unlike ``digit`` a piece of ink with ``box`` (x0, y0, x1, y1) is in shape: nothing
    within ASPECT_FREE spreads of the digit's typical aspect, then a squared z-score, linear
    beyond 1.5 more (MNIST's tails are heavier than a normal's)."""
    z = max(0.0, abs(_aspect_z(box, digit)) - ASPECT_FREE)
    return 0.5 * z * z if z <= 1.5 else 1.5 * z - 1.125


def _aspect_z(box: tuple[int, int, int, int], digit: int) -> float:
    x0, y0, x1, y1 = box
    aspect = np.log(max(x1 - x0, 1) / max(y1 - y0, 1))
    return float((aspect - ASPECT_LOG_MEDIAN[digit]) / ASPECT_LOG_SPREAD[digit])


def _crop_input(marks: Marks, piece: Piece) -> np.ndarray | None:
    crop = marks.soft_crop(piece.mask, piece.box, allowed=piece.allowed, origin=piece.origin)
    return normalise_crop(crop)


def split_group(
    marks: Marks,
    window: Window,
    height: float,
    predict_proba: PredictProba | None,
    *,
    alone: bool,
    whole: tuple[Piece, np.ndarray] | None,
    p_whole: float | None = None,
    whole_proba: np.ndarray | None = None,
    wholeness: Wholeness | None = None,
    read_pieces: ReadPieces | None = None,
    budget: SearchBudget | None = None,
) -> list[tuple[Piece, np.ndarray, np.ndarray | None]]:
    """Read a group whole or cut into pieces, whichever the model finds most probable.

    Without ``predict_proba`` the group is read whole. Otherwise a group up to SPLIT_ABOVE
    line heights wide is read whole, and so is one up to ALWAYS_SPLIT_ABOVE (ALONE_SPLIT_ABOVE
    when ``alone`` in its line) that the model reads whole with at least SURE_WHOLE and whose
    shape fits that digit (SURE_ASPECT_Z) -- unless it is side-by-side tall pieces (two close
    digits linked). Else cuts are chosen among least-ink paths from candidate columns: the
    count of pieces whose mean score is highest wins, a piece scoring its log-probability less
    its shape penalty (ASPECT_WEIGHT) and CROSSING_PENALTY per stroke its cut crosses; reading
    whole has a head start of SPLIT_MARGIN unless the pieces stand apart. A dot is no digit.
    ``whole`` is ``whole_piece(marks, window)`` and ``whole_proba`` the model's probabilities for
    it (given with ``predict_proba``). With ``wholeness``, the shortcuts to reading whole also
    need the mark to look whole (``p_whole``, its wholeness, at least WHOLE_KEEP), and every
    piece's score gains WHOLE_WEIGHT times its log-wholeness; ``read_pieces``, if given, does
    both reads at once. The search spends from ``budget`` (a fresh ``SearchBudget`` if None) and
    raises ``ImageRejected`` ("too_many_marks") when it runs out.
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
    apart = side_by_side(local, height)
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
    crossed = [0] + [crossings(local[rows, np.minimum(c, gw - 1)]) for c in cuts[1:-1]] + [0]
    widest = MAX_PIECE_WIDTH * height
    narrowest = MIN_PIECE_WIDTH * height
    last = len(cuts) - 1
    budget = budget if budget is not None else SearchBudget()
    reader = _SpanReader(marks, window, cuts, height, predict_proba, wholeness, read_pieces, budget)
    reader.know((0, last), whole, x_whole, whole_proba, p_whole)
    middle = reader.middle
    # Pairs of cuts in itertools.combinations' order, found with arrays: a wide mark has hundreds.
    starts, ends = np.triu_indices(len(cuts), 1)
    gaps = np.asarray(middle)[ends] - np.asarray(middle)[starts]
    pairs = (narrowest <= gaps) & (gaps <= widest) & ~((starts == 0) & (ends == last))
    spans = list(zip(starts[pairs].tolist(), ends[pairs].tolist(), strict=True))
    # The whole is always a candidate: its shape prior weighs how unlikely it is as one.
    spans = [(0, last), *tall_enough(local, cuts, spans, MIN_PIECE_HEIGHT * height)]
    # Spans are read lazily: a chain is only worth reading if, counting every unread piece at
    # the best score any piece can have, it could still win. The chosen chain is the one
    # reading every span would choose, for a third to a half of the reading.
    chains = _Chains(spans, last, crossed, BEST_SCORE)
    todo = [(0, last)]
    while True:
        reader.read_spans(todo)
        for span in todo:
            chains.set(span, reader.scores.get(span, -np.inf))
        chain = _leader(chains, last, apart, budget)
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
            chain = _leader(chains, last, apart, budget)
            if chain is None:
                break
        todo = sorted(unread)


def _leader(
    chains: _Chains, last: int, apart: bool, budget: SearchBudget
) -> list[tuple[int, int]] | None:
    """The best chain of the count of pieces whose mean score is highest (the whole has a head
    start of SPLIT_MARGIN unless its pieces stand apart); None when no count scores at all."""
    budget.spend(cells=chains.stale_cells())
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
        window: Window,
        cuts: list[np.ndarray],
        height: float,
        predict_proba: PredictProba,
        wholeness: Wholeness | None,
        read_pieces: ReadPieces | None = None,
        budget: SearchBudget | None = None,
    ) -> None:
        self.marks, self.window, self.cuts, self.height = marks, window, cuts, height
        self.budget = budget if budget is not None else SearchBudget()
        self.predict_proba, self.wholeness, self.read_pieces = predict_proba, wholeness, read_pieces
        self.middle = cut_middles(cuts)
        self.scores: dict[tuple[int, int], float] = {}
        self.pieces: dict[tuple[int, int], tuple[Piece, np.ndarray]] = {}
        self.proba: dict[tuple[int, int], np.ndarray] = {}
        self.whole: dict[tuple[int, int], float] = {}

    def know(
        self,
        span: tuple[int, int],
        piece: Piece,
        x: np.ndarray,
        proba: np.ndarray,
        whole: float | None,
    ) -> None:
        self.pieces[span] = (piece, x)
        self.proba[span] = proba
        if whole is not None:
            self.whole[span] = whole

    def read_spans(self, spans: list[tuple[int, int]]) -> None:
        height = self.height
        found = []
        for i, j in spans:
            if (i, j) in self.pieces:
                found.append(((i, j), *self.pieces[(i, j)]))
                continue
            self.budget.spend(pieces=1)
            piece = cut_piece(self.window, self.cuts[i], self.cuts[j])
            if piece is not None and piece.box[3] - piece.box[1] < MIN_PIECE_HEIGHT * height:
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
            self.budget.spend(calls=1)
            spans = [span for span, _, _ in unread]
            inputs = np.stack([x for _, _, x in unread])
            boxes = np.array([piece.box for _, piece, _ in unread])
            rows, ps = model_reads(
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
            if digit == 1 and piece.box[3] - piece.box[1] < SHORT_ONE * height:
                value -= SHORT_ONE_PENALTY
            self.scores[span] = value
            self.pieces[span] = (piece, x)


def model_reads(
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
        self._best = np.full((last + 1, last + 1), -np.inf)
        self._best[0, 0] = 0.0
        self._parent = np.full((last + 1, last + 1), -1, dtype=np.int64)
        # Rows of ``best`` from this cut on are out of date: a chain to cut j uses only the
        # spans ending at or before j.
        self._stale = 1

    def set(self, span: tuple[int, int], value: float) -> None:
        k = self.index[span]
        if self.value[k] != value:
            self.value[k] = value
            self._stale = min(self._stale, span[1])

    def stale_cells(self) -> int:
        """The work ``best`` has to do: each out-of-date span at every count of pieces."""
        return self.last * sum(len(starts) for j, _, starts in self.groups if j >= self._stale)

    def best(self) -> tuple[np.ndarray, np.ndarray]:
        """best[j, n]: the highest total worth of n pieces from the left edge to cut j;
        parent[j, n]: the cut before j on that chain. Only the out-of-date rows are worked
        out again; the arrays are the chains' own, not to be changed."""
        best, parent = self._best, self._parent
        columns = np.arange(self.last)
        for j, ending, starts in self.groups:
            if j < self._stale:
                continue
            totals = best[starts, :-1] + self.value[ending, None] - self.cost[ending, None]
            # The first start wins a tie, as a left-to-right scan would.
            k = np.argmax(totals, axis=0)
            best[j, 1:] = totals[k, columns]
            parent[j, 1:] = starts[k]
        self._stale = self.last + 1
        return best, parent


def _chain(parent: np.ndarray, last: int, count: int) -> list[tuple[int, int]]:
    """The spans, left to right, of the best chain of ``count`` pieces ending at cut ``last``."""
    chain, j = [], last
    for n in range(count, 0, -1):
        i = int(parent[j, n])
        chain.append((i, j))
        j = i
    return chain[::-1]


def whole_piece(marks: Marks, window: Window) -> tuple[Piece, np.ndarray] | None:
    """A group's ink read whole: its piece and model input, or None for a dot or a blot."""
    group = window.group
    left, right = (
        np.zeros(group.height, dtype=np.int64),
        np.full(group.height, group.width, dtype=np.int64),
    )
    piece = cut_piece(window, left, right)
    x = _crop_input(marks, piece) if piece is not None else None
    return (piece, x) if x is not None else None
