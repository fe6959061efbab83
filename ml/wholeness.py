"""Whether a piece of ink is one whole digit: not two touching digits, not part of one.

The digit model is sure of nearly anything it is shown: two touching digits read as one 8 at
95%, half a 0 reads as a 1. So a second, small forest is trained to tell a whole digit from the
pieces the segmenter cuts. Its examples are made from the training images themselves: lines of
1-3 digits written at random sizes, stretches, slants and stroke weights, overlapping or apart,
cut by ``ml.cuts``' own cut paths into every candidate piece. A piece is whole when it holds
nearly all of one digit and almost nothing of another; ambiguous pieces are left out.

``train_wholeness(images, n_lines=...)`` fits the forest; ``wholeness_features`` is its input.
``line_lefts`` lays digits out along a line (``testkit.numbers`` writes its numbers with it).
The forest is one part of a saved model (``ml.predict.Model.wholeness``).
"""

from __future__ import annotations

import itertools
import multiprocessing
import signal
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from PIL import Image
from scipy import ndimage as ndi
from sklearn.ensemble import ExtraTreesClassifier

from ml.crop import normalise_crop, soft_crop
from ml.cuts import (
    MIN_PIECE_HEIGHT,
    MIN_PIECE_WIDTH,
    Window,
    candidate_cuts,
    cut_middles,
    cut_piece,
)
from ml.features import featurize
from ml.grouping import Group

# Lines of digits the wholeness part is trained on: more cost training time, not serving.
DEFAULT_LINES = 12_000
N_ESTIMATORS = 60
MAX_LEAF_NODES = 4000
# Whole: at least WHOLE_OWN of one digit's ink, at most WHOLE_OTHER of another's.
WHOLE_OWN, WHOLE_OTHER = 0.88, 0.06
AMBIGUOUS_OWN, AMBIGUOUS_OTHER = 0.7, 0.2
PIECES_PER_LINE = 10
_INK = 0.35

Progress = Callable[[int, int], None]


def wholeness_features(
    inputs: np.ndarray,
    boxes: np.ndarray | list,
    height: float | np.ndarray,
    *,
    features: np.ndarray | None = None,
) -> np.ndarray:
    """The forest's input: ``featurize`` of the (n, 28, 28) model inputs (or ``features``, when
    the caller has them already) plus each piece's shape, from ``boxes`` (n, 4) (x0, y0, x1,
    y1): log(width / height), and its width and height in line heights (the 28x28 input no
    longer shows how big the piece was). ``height`` is the line's height, or one per piece."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    h = np.maximum(boxes[:, 3] - boxes[:, 1], 1)
    w = np.maximum(boxes[:, 2] - boxes[:, 0], 1)
    height = np.maximum(np.asarray(height, dtype=np.float64), 1.0)
    shape = np.stack([np.log(w / h), w / height, h / height], axis=1).astype(np.float32)
    return np.hstack([featurize(inputs) if features is None else features, shape])


def _digit_ink(image: np.ndarray, height: float, rng: np.random.Generator) -> np.ndarray:
    a = np.asarray(image, dtype=np.float32)
    if a.max() > 1.5:
        a = a / 255
    ys = np.flatnonzero(a.max(axis=1) > 0.1)
    xs = np.flatnonzero(a.max(axis=0) > 0.1)
    a = a[ys[0] : ys[-1] + 1, xs[0] : xs[-1] + 1]
    h = max(8, round(height * rng.uniform(0.88, 1.08)))
    # A quarter are stretched wide: lone digits are sometimes written twice as wide as MNIST's.
    stretch = rng.uniform(0.85, 1.15) if rng.random() < 0.75 else rng.uniform(1.15, 2.3)
    w = max(2, round(a.shape[1] * h / a.shape[0] * stretch))
    im = Image.fromarray(a, mode="F").resize((w, h), Image.Resampling.BILINEAR)
    im = im.rotate(rng.uniform(-8, 8), Image.Resampling.BILINEAR, expand=True)
    ink = np.clip(np.asarray(im), 0, 1)
    # MNIST's strokes are a tenth of the height; pens are often thinner, markers thicker.
    r = rng.random()
    if r < 0.55:
        k = max(1, round(height * rng.uniform(0.02, 0.05 if r < 0.4 else 0.04)))
        weighed = (ndi.grey_erosion if r < 0.4 else ndi.grey_dilation)(ink, size=(k, k))
        if weighed.max() >= 0.3:
            ink = weighed
    ys = np.flatnonzero(ink.max(axis=1) > 0.05)
    xs = np.flatnonzero(ink.max(axis=0) > 0.05)
    return ink[ys[0] : ys[-1] + 1, xs[0] : xs[-1] + 1]


def line_lefts(
    widths: list[int], height: float, rng: np.random.Generator, gaps: tuple[float, float]
) -> list[int]:
    """Left edges of crops ``widths`` wide written left to right, each gap drawn from ``gaps``
    (in ``height``s; negative overlaps), the leftmost at 0."""
    lefts, x = [], 0.0
    for i, width in enumerate(widths):
        if i:
            x += rng.uniform(*gaps) * height
        lefts.append(round(x))
        x += width
    # An overlap wider than a narrow first digit (a 1) puts the next one left of it.
    return [left - min(lefts) for left in lefts]


def _line(
    images: np.ndarray, height: float, rng: np.random.Generator, gaps: tuple[float, float]
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Ink (h, w) of ``images`` written left to right, and each digit's own ink mask."""
    inks = [_digit_ink(image, height, rng) for image in images]
    tops = [rng.uniform(-0.06, 0.06) * height - ink.shape[0] for ink in inks]
    lefts = [left + 4 for left in line_lefts([ink.shape[1] for ink in inks], height, rng, gaps)]
    top0 = min(tops)
    h = round(max(t + ink.shape[0] for t, ink in zip(tops, inks, strict=True)) - top0) + 8
    w = max(left + ink.shape[1] for left, ink in zip(lefts, inks, strict=True)) + 4
    line = np.zeros((h, w), dtype=np.float32)
    owners = []
    for top, left, ink in zip(tops, lefts, inks, strict=True):
        y = round(top - top0) + 4
        region = (slice(y, y + ink.shape[0]), slice(left, left + ink.shape[1]))
        np.maximum(line[region], ink, out=line[region])
        own = np.zeros((h, w), dtype=bool)
        own[region] = ink > _INK
        owners.append(own)
    return line, owners


def _pieces(
    line: np.ndarray, owners: list[np.ndarray], height: float, rng: np.random.Generator
) -> list[tuple[np.ndarray, tuple[int, int, int, int], bool]]:
    """Candidate pieces of the line as the segmenter cuts one wide mark: (model input, box,
    whole)."""
    mask = line > _INK
    ys = np.flatnonzero(mask.any(axis=1))
    xs = np.flatnonzero(mask.any(axis=0))
    group = Group([1], int(ys[0]), int(ys[-1]) + 1, int(xs[0]), int(xs[-1]) + 1, 0.0)
    window = Window(own=mask, ink=mask, group=group, origin=(0, 0))
    cuts = candidate_cuts(mask[group.y0 : group.y1, group.x0 : group.x1], height)
    middle = cut_middles(cuts)
    spans = [
        (i, j)
        for i, j in itertools.combinations(range(len(cuts)), 2)
        if MIN_PIECE_WIDTH * height <= middle[j] - middle[i] <= 2.5 * height
    ]
    if len(spans) > PIECES_PER_LINE:
        spans = [spans[k] for k in rng.choice(len(spans), PIECES_PER_LINE, replace=False)]
    if (0, len(cuts) - 1) not in spans:
        spans.append((0, len(cuts) - 1))
    mass = [max(int(own.sum()), 1) for own in owners]
    out = []
    for i, j in spans:
        piece = cut_piece(window, cuts[i], cuts[j])
        if piece is None or piece.box[3] - piece.box[1] < MIN_PIECE_HEIGHT * height:
            continue
        x = normalise_crop(soft_crop(line, 0.01, piece.mask, piece.box, allowed=piece.allowed))
        if x is None:
            continue
        shares = sorted(
            (float((piece.mask & own).sum()) / m for own, m in zip(owners, mass, strict=True))
        )
        own_share, other = shares[-1], (shares[-2] if len(shares) > 1 else 0.0)
        if own_share >= WHOLE_OWN and other <= WHOLE_OTHER:
            whole = True
        elif own_share >= AMBIGUOUS_OWN and other <= AMBIGUOUS_OTHER:
            continue
        else:
            whole = False
        out.append((x, piece.box, whole))
    return out


def training_pieces(
    images: np.ndarray, n_lines: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Examples from ``n_lines`` lines of ``images`` ((n, 28, 28) MNIST-format digits): the
    forest's features (m, F) float32, whether each piece is whole (m,) int64, and the pieces'
    model inputs (m, 28, 28) float32."""
    rng = np.random.default_rng(seed)
    inputs, boxes, heights, labels = [], [], [], []
    for _ in range(n_lines):
        count = int(rng.choice([1, 1, 2, 2, 3]))
        chosen = images[rng.integers(0, len(images), count)]
        height = float(rng.uniform(40, 70))
        # Most lines overlap, as touching digits do; the rest stand a little apart.
        gaps = (-0.15, 0.0) if rng.random() < 0.6 else (-0.05, 0.25)
        line, owners = _line(chosen, height, rng, gaps)
        for x, box, whole in _pieces(line, owners, height, rng):
            inputs.append(x)
            boxes.append(box)
            heights.append(height)
            labels.append(int(whole))
    if not inputs:
        empty = np.zeros((0, 28, 28), dtype=np.float32)
        return wholeness_features(empty, np.zeros((0, 4)), 1.0), np.zeros(0, np.int64), empty
    x = np.stack(inputs).astype(np.float32)
    features = wholeness_features(x, boxes, np.asarray(heights))
    return features, np.asarray(labels, dtype=np.int64), x


_shared_images: np.ndarray | None = None


def _share_images(images: np.ndarray) -> None:
    global _shared_images
    _shared_images = images
    # A forked worker inherits its parent's handlers (the task worker's graceful shutdown): it
    # should simply stop when its parent's server stops it.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _shared_pieces(job: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return training_pieces(_shared_images, *job)


def _pieces_in_order(
    images: np.ndarray, jobs: list[tuple[int, int]], n_jobs: int
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``training_pieces(images, size, seed)`` of each job, in order, in ``n_jobs`` processes
    that are gone when the last result is out: joblib's reusable loky pool left its workers and
    two resource trackers running long after training. Forked workers share ``images`` without
    a copy and need no resource tracker."""
    if n_jobs <= 1 or len(jobs) <= 1:
        for size, seed in jobs:
            yield training_pieces(images, size, seed)
        return
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(
        n_jobs, mp_context=context, initializer=_share_images, initargs=(images,)
    ) as pool:
        yield from pool.map(_shared_pieces, jobs)


def train_wholeness(
    images: np.ndarray,
    *,
    n_lines: int = DEFAULT_LINES,
    random_state: int = 0,
    n_jobs: int = 2,
    progress: Progress | None = None,
) -> ExtraTreesClassifier:
    """Fit the wholeness forest on pieces of ``n_lines`` lines written with ``images``.
    ``progress(done_lines, n_lines)`` as the examples are made (in ``n_jobs`` processes)."""
    chunks = max(1, min(8 * n_jobs, n_lines // 250))
    sizes = [n_lines // chunks + (k < n_lines % chunks) for k in range(chunks)]
    seeds = np.random.SeedSequence(random_state).spawn(chunks)
    features, labels = [], []
    done = 0
    if progress is not None:
        progress(0, n_lines)
    jobs = [(size, int(seed.generate_state(1)[0])) for size, seed in zip(sizes, seeds, strict=True)]
    for size, (f, y, _) in zip(sizes, _pieces_in_order(images, jobs, n_jobs), strict=True):
        features.append(f)
        labels.append(y)
        done += size
        if progress is not None:
            progress(done, n_lines)
    y = np.concatenate(labels)
    if len(np.unique(y)) < 2:
        raise ValueError("too few lines to learn whole digits from pieces; use more")
    forest = ExtraTreesClassifier(
        n_estimators=N_ESTIMATORS,
        max_leaf_nodes=MAX_LEAF_NODES,
        n_jobs=n_jobs,
        random_state=random_state,
    )
    forest.fit(np.vstack(features), y)
    return forest
