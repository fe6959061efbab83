"""Whether a read mark is a digit at all: the detector beside the digit model.

The digit model answers 0-9 for anything: a heart reads as 3 at 95%. So a forest is trained to
tell digits from marks no one would read as one. Its classes are "digit" and the kinds of
non-digit (``CLASSES``): letters, symbols, shapes, scribbles and dots, so that a refusal can say
what the mark looks like. Beside it an RBF SVM learns digit against non-digit on the same
features, and a mark's probability of "digit" is the product of the two: the forest's leaves
are coarse where digits and non-digits meet, and the SVM's margin is smooth there. A mark read
alone has an SVM of its own, learned from lone marks only: a lone digit must hold up against
every non-digit by itself, with no neighbours to vouch for it, and an SVM shared with the marks
of numbers draws its line for those. Its forest's probability counts to a power
(``LONE_FOREST_POWER``): for lone marks the forest is the better judge of the two. All of them
learn from examples, not rules: the crops the reader itself cut from uploads of MNIST's training
digits, of numbers and of non-digits (``ml.digitness_data`` holds them;
``testkit.digitness_examples`` makes them).

A lone digit is refused when it is less likely a digit than one threshold; a number when its
marks are on average less likely than a second, or any one of them than a third. The thresholds
are chosen on out-of-fold uploads (``ml.digitness_data.fit_digitness``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi
from skimage.morphology import skeletonize
from sklearn.ensemble import ExtraTreesClassifier
from sklearn.svm import SVC

from ml.decode import ImageRejected
from ml.features import featurize
from ml.forest_arrays import FlatForest
from ml.svm_arrays import FlatSVM

# "other": what people said is not a digit (reviewed uploads), of no kind of its own.
CLASSES = ("digit", "letter", "symbol", "shape", "scribble", "dots", "other")
DIGIT = 0
NOT_A_DIGIT_CODE = "not_a_digit"
NOT_A_DIGIT_MESSAGE = "This doesn't look like a digit or a number."
_LOOKS_LIKE = {
    "letter": "a letter",
    "symbol": "a symbol",
    "shape": "a drawing",
    "scribble": "a scribble",
    "dots": "dots or dashes",
    "other": "something other than a digit",
}
N_ESTIMATORS = 100
MAX_LEAF_NODES = 6000
# The SVM's settings, chosen out of fold on the shipped examples. The shape and box features are
# standardized at half the weight of the HOG's 520, which are already on one scale.
SVM_C, SVM_GAMMA, SVM_EXTRA_WEIGHT = 10.0, 0.6, 0.5
# libsvm's kernel cache in MB: at the default 200 it recomputes kernel rows over and over.
SVM_CACHE_MB = 1000
# The SVM learns from at most this many marks, drawn at random: its fit grows with the square of
# the rows, and the default model must be active within 5 minutes of `make run`.
SVM_MAX_ROWS = 16_000
# The lone marks' SVM: a wider kernel and a softer margin than the shared one. Sharper settings
# score better out of fold on the examples, whose MNIST writers are in every fold, but refuse
# new writers' odd digits (MNIST's test set): see docs/benchmarks.md, "Not a digit".
LONE_SVM_C, LONE_SVM_GAMMA = 3.0, 0.6
# A lone mark's probability of "digit" is the forest's to this power times its SVM's: the forest
# tells lone digits from non-digits better than the lone SVM (docs/benchmarks.md, "Not a digit").
LONE_FOREST_POWER = 1.25
# A smooth probability, not a vote between classes: float32 is as good and half the time.
SERVE_DTYPE = np.float32
_HOG = 520
_INK = 0.3
_EIGHT = np.ones((3, 3), dtype=bool)


def shape_features(inputs: np.ndarray) -> np.ndarray:
    """What HOG does not show of each (n, 28, 28) model input, as (n, 9) float32: the share of
    ink, the strokes' pieces and holes, the skeleton's ends, forks and length, the stroke width,
    the largest piece's share of the ink and how far the ink spreads from its centre."""
    x = np.asarray(inputs, dtype=np.float32).reshape(-1, 28, 28)
    out = np.zeros((len(x), 9), dtype=np.float32)
    ys, xs = np.mgrid[0:28, 0:28]
    for i, image in enumerate(x):
        ink = image > _INK
        total = int(ink.sum())
        if not total:
            continue
        labels, pieces = ndi.label(ink, structure=_EIGHT)
        largest = np.bincount(labels.ravel())[1:].max()
        _, regions = ndi.label(np.pad(~ink, 1))
        skeleton = skeletonize(ink)
        neighbours = ndi.convolve(
            skeleton.astype(np.uint8), _EIGHT.astype(np.uint8), mode="constant"
        )
        length = int(skeleton.sum())
        mass = image.sum()
        cy, cx = (image * ys).sum() / mass, (image * xs).sum() / mass
        spread = np.sqrt((image * ((ys - cy) ** 2 + (xs - cx) ** 2)).sum() / mass)
        out[i] = (
            total / 784,
            pieces,
            regions - 1,
            int((skeleton & (neighbours == 2)).sum()),
            int((skeleton & (neighbours >= 4)).sum()),
            length,
            total / max(length, 1),
            largest / total,
            spread,
        )
    return out


def digitness_features(
    inputs: np.ndarray,
    boxes: np.ndarray | list,
    height: float | np.ndarray,
    lone: bool | np.ndarray,
    *,
    features: np.ndarray | None = None,
) -> np.ndarray:
    """The detector's input: ``featurize`` of the (n, 28, 28) model inputs (or ``features``),
    ``shape_features``, each mark's box (n, 4) (x0, y0, x1, y1) as log(width / height) and its
    width and height in ``height``s (the tallest mark of its reading), and ``lone`` (read as one
    digit, not as a mark of a number). Not the digit model's probabilities: on the training
    digits it has seen they are surer than on new ones, and the thresholds would not hold."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    h = np.maximum(boxes[:, 3] - boxes[:, 1], 1)
    w = np.maximum(boxes[:, 2] - boxes[:, 0], 1)
    height = np.maximum(np.asarray(height, dtype=np.float64), 1.0)
    lone = np.broadcast_to(np.asarray(lone, dtype=np.float64), h.shape)
    box = np.stack([np.log(w / h), w / height, h / height, lone], axis=1).astype(np.float32)
    base = featurize(inputs) if features is None else features
    return np.hstack([base, shape_features(inputs), box])


def read_alone(features: np.ndarray) -> np.ndarray:
    """(n,) bool: which rows of ``digitness_features`` are of marks read alone (the last
    feature)."""
    return features[:, -1] > 0.5


def train_detector(
    features: np.ndarray,
    labels: np.ndarray,
    *,
    random_state: int = 0,
    n_jobs: int = 2,
    n_estimators: int = N_ESTIMATORS,
) -> ExtraTreesClassifier:
    """Fit the forest on ``digitness_features`` rows and their ``CLASSES`` indices."""
    if len(np.unique(labels)) < 2 or not (labels == DIGIT).any():
        raise ValueError("the detector needs digits and non-digits to learn from")
    forest = ExtraTreesClassifier(
        n_estimators=n_estimators,
        max_leaf_nodes=MAX_LEAF_NODES,
        class_weight="balanced",
        n_jobs=n_jobs,
        random_state=random_state,
    )
    return forest.fit(features, labels)


class DigitSVM:
    """The SVM beside the forest: a binary `FlatSVM` (classes 0 "digit", 1 "not a digit") on
    ``(features - center) * scale``. Its probability of "digit" is sigmoid(2 x margin)."""

    def __init__(self, svm: FlatSVM, center: np.ndarray, scale: np.ndarray) -> None:
        self.svm = svm
        self.center = np.asarray(center, dtype=np.float64)
        self.scale = np.asarray(scale, dtype=np.float64)
        if [int(c) for c in svm.classes] != [0, 1] or float(svm.beta) != 1.0:
            raise ValueError("the detector's SVM must be binary, digit first, with beta 1")
        if self.center.shape != (svm.n_features,) or self.scale.shape != (svm.n_features,):
            raise ValueError("the detector's SVM scaling does not match its features")

    def digit_proba(self, features: np.ndarray) -> np.ndarray:
        """(n,) probability that each row of ``digitness_features`` is a digit."""
        return self.svm.predict_proba((features - self.center) * self.scale)[:, 0]

    def arrays(self) -> dict[str, np.ndarray]:
        return self.svm.arrays() | {"center": self.center, "scale": self.scale}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], *, sha256: str | None) -> DigitSVM:
        """The SVM from ``arrays``, checked against their recorded ``sha256``."""
        rest = {k: v for k, v in arrays.items() if k not in ("center", "scale")}
        made = cls(FlatSVM(**rest, serve_dtype=SERVE_DTYPE), arrays["center"], arrays["scale"])
        if made.sha256() != sha256:
            raise ValueError("the detector SVM's arrays do not match the sha256 in their metadata")
        return made

    def sha256(self) -> str:
        digest = hashlib.sha256(self.svm.sha256().encode())
        for array in (self.center, self.scale):
            digest.update(array.tobytes())
        return digest.hexdigest()


def train_svm(
    features: np.ndarray,
    labels: np.ndarray,
    *,
    max_rows: int = SVM_MAX_ROWS,
    random_state: int = 0,
    C: float = SVM_C,
    gamma: float = SVM_GAMMA,
) -> DigitSVM:
    """Fit the SVM on ``digitness_features`` rows (at most ``max_rows`` of them, drawn at
    random): digit (class 0) against every other class."""
    if len(labels) > max_rows:
        rows = np.sort(np.random.default_rng(random_state).choice(len(labels), max_rows, False))
        features, labels = features[rows], labels[rows]
    center = np.zeros(features.shape[1])
    scale = np.ones(features.shape[1])
    extra = features[:, _HOG:].astype(np.float64)
    center[_HOG:] = extra.mean(axis=0)
    spread = extra.std(axis=0)
    # A feature the same on every row ("read alone", among lone marks) must weigh nothing.
    scale[_HOG:] = np.where(spread > 1e-9, SVM_EXTRA_WEIGHT / (spread + 1e-6), 0.0)
    svc = SVC(C=C, gamma=gamma, class_weight="balanced", cache_size=SVM_CACHE_MB)
    svc.fit(((features - center) * scale).astype(np.float32), (labels != DIGIT).astype(np.int64))
    flat = FlatSVM(
        support_vectors=svc.support_vectors_,
        n_support=svc.n_support_,
        dual_coef=svc.dual_coef_,
        intercept=svc.intercept_,
        gamma=svc._gamma,
        beta=1.0,
        classes=svc.classes_,
        serve_dtype=SERVE_DTYPE,
    )
    return DigitSVM(flat, center, scale)


@dataclass(frozen=True)
class Digitness:
    """The detector as served: ``forest`` (a `FlatForest` over ``CLASSES`` indices), ``svm``
    (a `DigitSVM`, or None for the forest alone), ``lone_svm`` (the `DigitSVM` of marks read
    alone, or None to use ``svm`` for them too), the probabilities of "digit" below which a
    reading is refused: ``lone``, of a digit read alone; ``mean``, the average over a number's
    marks; ``piece``, any one mark of a number; and ``lone_forest_power``, the power of the
    forest's probability in its product with the lone SVM's (1 in models made before it)."""

    forest: FlatForest
    lone: float
    mean: float
    piece: float
    svm: DigitSVM | None = None
    lone_svm: DigitSVM | None = None
    lone_forest_power: float = 1.0

    def __post_init__(self) -> None:
        classes = [int(c) for c in np.asarray(self.forest.classes)]
        if classes[0] != DIGIT or not set(classes) <= set(range(len(CLASSES))):
            raise ValueError(f"the detector's classes {classes} are not {CLASSES}")
        if not all(0 <= t <= 1 for t in (self.lone, self.mean, self.piece)):
            raise ValueError("the detector's thresholds are not probabilities")
        if not self.lone_forest_power > 0:
            raise ValueError("the detector's forest power must be positive")

    def proba(self, features: np.ndarray) -> np.ndarray:
        """(n, len(CLASSES)) probabilities of each class, zero for classes never seen."""
        out = np.zeros((len(features), len(CLASSES)), dtype=np.float64)
        columns = np.asarray(self.forest.classes, dtype=np.int64)
        out[:, columns] = self.forest.predict_proba(features)
        if self.svm is None and self.lone_svm is None:
            return out
        lone = read_alone(features)
        power = np.where(lone, self.lone_forest_power, 1.0)
        return combine(out, self._svm_digit(features, lone), power)

    def _svm_digit(self, features: np.ndarray, lone: np.ndarray) -> np.ndarray:
        """(n,) the SVMs' probability of "digit": ``lone_svm``'s for the ``lone`` rows (marks
        read alone), ``svm``'s for the others; 1 where there is no SVM."""
        out = np.ones(len(features))
        if self.lone_svm is None:
            lone = np.zeros(len(out), bool)
        if lone.any():
            out[lone] = self.lone_svm.digit_proba(features[lone])
        if self.svm is not None and not lone.all():
            out[~lone] = self.svm.digit_proba(features[~lone])
        return out

    def marks_proba(self, inputs: np.ndarray, boxes: np.ndarray | list, lone: bool) -> np.ndarray:
        """``proba`` of the marks of one reading: ``inputs`` (n, 28, 28), ``boxes`` (n, 4)."""
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        height = float((boxes[:, 3] - boxes[:, 1]).max())
        return self.proba(digitness_features(inputs, boxes, height, lone))

    def refused(self, digit_proba: np.ndarray, lone: bool) -> bool:
        """Whether a reading whose marks are digits with these probabilities is refused."""
        return bool(self.refuses(digit_proba.min(), digit_proba.mean(), lone))

    def refuses(self, low: np.ndarray, mean: np.ndarray, lone: np.ndarray) -> np.ndarray:
        """``refused`` of many readings at once, from each one's lowest and mean digit
        probability and whether it was read alone."""
        return np.where(lone, low < self.lone, (mean < self.mean) | (low < self.piece))

    def check(
        self,
        inputs: np.ndarray,
        boxes: np.ndarray | list,
        lone: bool,
    ) -> np.ndarray:
        """Refuse the marks of one reading (``ImageRejected`` "not_a_digit", naming the mark
        least like a digit and what it looks like) unless they look like digits. ``inputs``
        (n, 28, 28), ``boxes`` (n, 4). Returns the marks' class probabilities."""
        proba = self.marks_proba(inputs, boxes, lone)
        if self.refused(proba[:, DIGIT], lone):
            raise not_a_digit(proba, int(np.argmin(proba[:, DIGIT])))
        return proba


def combine(
    proba: np.ndarray, svm_digit: np.ndarray, forest_power: float | np.ndarray = 1.0
) -> np.ndarray:
    """The forest's class probabilities with "digit" (to ``forest_power``, one or one per row)
    multiplied by the SVM's, the kinds of non-digit keeping their proportions."""
    out = np.array(proba, dtype=np.float64)
    digit = out[:, DIGIT] ** forest_power * svm_digit
    rest = 1 - out[:, DIGIT]
    share = np.divide(1 - digit, rest, out=np.zeros_like(rest), where=rest > 0)
    out[:, 1:] *= share[:, None]
    out[:, CLASSES.index("other")] += np.where(rest > 0, 0.0, 1 - digit)
    out[:, DIGIT] = digit
    return out


def not_a_digit(proba: np.ndarray | None = None, index: int = 0) -> ImageRejected:
    """The refusal of a reading whose mark ``index`` (of ``len(proba)``) is not a digit; with
    several marks it names the mark and the kind of non-digit it looks most like."""
    if proba is None or len(proba) < 2:
        return ImageRejected(NOT_A_DIGIT_CODE, NOT_A_DIGIT_MESSAGE)
    kind = CLASSES[1 + int(np.argmax(proba[index, 1:]))]
    return ImageRejected(
        NOT_A_DIGIT_CODE,
        f"{NOT_A_DIGIT_MESSAGE[:-1]}: mark {index + 1} of {len(proba)} looks like "
        f"{_LOOKS_LIKE[kind]}.",
    )
