"""The detector's examples, and its training with thresholds chosen on held-out uploads.

``data/digitness/examples.npz`` holds the marks the reader cut from synthetic uploads (made by
``python -m testkit.digitness_examples``): each mark's 28x28 model input (uint8), its box, the
tallest box of its reading, whether it was read alone, its class (``ml.digitness.CLASSES``), the
upload it came from and whether the reader read that upload right. The digits are MNIST's
training digits, written as photos, pad drawings and numbers: the detector learns them as the
reader sees them. Each mark has a fold, and the digits of fold k come from MNIST's pool k (the
training digits whose index is k modulo ``FOLDS``), so that no digit is on both sides of a split.
``fit_digitness`` sets the thresholds from out-of-fold scores so that almost no digit the reader
reads right is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ml.digitness import (
    CLASSES,
    DIGIT,
    LONE_FOREST_POWER,
    LONE_SVM_C,
    LONE_SVM_GAMMA,
    Digitness,
    digitness_features,
    read_alone,
    train_detector,
    train_svm,
)
from ml.forest_arrays import FlatForest

EXAMPLES_PATH = Path(__file__).resolve().parent.parent / "data" / "digitness" / "examples.npz"
# Shares of the digits read right the thresholds may refuse (out of fold): read alone (the
# tightest target, MNIST's 0.05 point), and of numbers (any one mark alone: PIECE_REFUSED).
# Numbers get less than their 1 point: out of fold they are pooled, and touching ones on new
# seeds score lower; almost no non-digit passes as a number.
LONE_REFUSED, NUMBER_REFUSED, PIECE_REFUSED = 0.0005, 0.0005, 0.0002
FOLDS = 3

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Examples:
    """Marks to learn from: ``inputs`` (n, 28, 28) float32, ``boxes`` (n, 4), ``heights`` (n,),
    ``lone`` (n,) bool, ``labels`` (n,) class indices, ``groups`` (n,) the upload of each,
    ``right`` (n,) whether the reader read that upload right (digits only), ``folds`` (n,) the
    held-out split each belongs to (``FOLDS`` of them, the same for every mark of an upload)."""

    inputs: np.ndarray
    boxes: np.ndarray
    heights: np.ndarray
    lone: np.ndarray
    labels: np.ndarray
    groups: np.ndarray
    right: np.ndarray
    folds: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    def take(self, keep: np.ndarray) -> Examples:
        return Examples(*(getattr(self, name)[keep] for name in _FIELDS))

    def features(self) -> np.ndarray:
        """The detector's input for these marks."""
        return digitness_features(self.inputs, self.boxes, self.heights, self.lone)

    def save(self, path: Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {name: getattr(self, name) for name in _FIELDS}
        arrays["inputs"] = np.round(self.inputs * 255).astype(np.uint8)
        with path.open("wb") as fh:
            np.savez_compressed(fh, **arrays)
        return path


_FIELDS = ("inputs", "boxes", "heights", "lone", "labels", "groups", "right", "folds")


def concat(parts: list[Examples]) -> Examples:
    return Examples(*(np.concatenate([getattr(p, name) for p in parts]) for name in _FIELDS))


def load_examples(path: Path = EXAMPLES_PATH) -> Examples:
    """The shipped examples (read without pickle)."""
    with np.load(path, allow_pickle=False) as bundle:
        return Examples(
            inputs=bundle["inputs"].astype(np.float32) / 255,
            boxes=bundle["boxes"].astype(np.float64),
            heights=bundle["heights"].astype(np.float64),
            lone=bundle["lone"].astype(bool),
            labels=bundle["labels"].astype(np.int64),
            groups=bundle["groups"].astype(np.int64),
            right=bundle["right"].astype(bool),
            folds=bundle["folds"].astype(np.int64),
        )


def _by_upload(scores: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each upload's lowest and mean digit probability."""
    _, index = np.unique(groups, return_inverse=True)
    n = int(index.max(initial=-1)) + 1
    low = np.ones(n)
    np.minimum.at(low, index, scores)
    mean = np.bincount(index, weights=scores, minlength=n) / np.maximum(np.bincount(index), 1)
    return low, mean


def _threshold(values: np.ndarray, share: float) -> float:
    """The highest threshold below which at most ``share`` of ``values`` lie."""
    if not len(values):
        return 0.0
    ordered = np.sort(values)
    return float(ordered[int(np.floor(share * len(ordered)))])


def fit_digitness(
    examples: Examples,
    *,
    random_state: int = 0,
    n_jobs: int = 2,
    n_estimators: int | None = None,
    folds: int = FOLDS,
    svm: bool = True,
    progress: Progress | None = None,
) -> tuple[Digitness, dict]:
    """Fit the detector on ``examples`` (with its SVM unless ``svm`` is false). The thresholds
    come from out-of-fold scores over the examples' own folds (merged into ``folds``): they
    refuse at most ``LONE_REFUSED`` of the digits read alone and ``NUMBER_REFUSED`` of the
    numbers, among those the reader reads right. Returns the detector and what the thresholds
    refuse of each class, out of fold."""
    every = examples
    steps = folds + 2
    if progress is not None:
        progress(0, steps)
    features = every.features()
    fit = {"random_state": random_state, "n_jobs": n_jobs}
    if n_estimators:
        fit["n_estimators"] = n_estimators
    scores = np.zeros(len(every))
    fold_of = every.folds % folds
    for k in range(folds):
        if progress is not None:
            progress(1 + k, steps)
        held = fold_of == k
        part = _fit(features[~held], every.labels[~held], fit, svm)
        scores[held] = part.proba(features[held])[:, DIGIT]
    if progress is not None:
        progress(folds + 1, steps)
    fitted = _fit(features, every.labels, fit, svm)
    # A digit the reader misreads costs nothing when refused: only those read right set the bar.
    digit = (every.labels == DIGIT) & every.right
    lone_low, _ = _by_upload(scores[digit & every.lone], every.groups[digit & every.lone])
    number_low, number_mean = _by_upload(
        scores[digit & ~every.lone], every.groups[digit & ~every.lone]
    )
    lone = _threshold(lone_low, LONE_REFUSED)
    piece = _threshold(number_low, PIECE_REFUSED)
    # The mean's threshold spends what the lowest mark's left of the numbers' share.
    kept = number_low >= piece
    spent = float((~kept).mean()) if len(kept) else 0.0
    mean = _threshold(number_mean[kept], max(0.0, NUMBER_REFUSED - spent))
    detector = replace(fitted, lone=lone, mean=mean, piece=piece)
    report: dict = {"lone": round(lone, 4), "mean": round(mean, 4), "piece": round(piece, 4)}
    uploads, index = np.unique(every.groups, return_inverse=True)
    low, average = _by_upload(scores, every.groups)
    lone_of, label_of = np.zeros(len(uploads), bool), np.zeros(len(uploads), np.int64)
    lone_of[index], label_of[index] = every.lone, every.labels
    refused = detector.refuses(low, average, lone_of)
    right_of = np.zeros(len(uploads), bool)
    right_of[index] = every.right
    for label in np.unique(label_of):
        mine = label_of == label
        report[f"refused_{CLASSES[label]}"] = round(float(refused[mine].mean()), 4)
    report["refused_digit_read_right"] = round(float(refused[right_of].mean()), 4)
    if progress is not None:
        progress(steps, steps)
    return detector, report


def _fit(features: np.ndarray, labels: np.ndarray, fit: dict, svm: bool) -> Digitness:
    """The detector's parts fitted on these rows, with thresholds still to choose."""
    if not svm:
        return Digitness(
            forest=FlatForest.from_sklearn(train_detector(features, labels, **fit)),
            lone=0.0,
            mean=0.0,
            piece=0.0,
        )
    seed = fit["random_state"]
    lone = read_alone(features)
    # The trees and libsvm let go of the GIL: the forest, one tree at a time, and both SVMs fit
    # side by side, each as it would alone (a forest's trees do not depend on its n_jobs).
    with ThreadPoolExecutor(max_workers=3) as pool:
        forest = pool.submit(train_detector, features, labels, **(fit | {"n_jobs": 1}))
        shared = pool.submit(train_svm, features, labels, random_state=seed)
        alone = None
        if len(np.unique(labels[lone] == DIGIT)) == 2:
            alone = pool.submit(
                train_svm,
                features[lone],
                labels[lone],
                random_state=seed,
                C=LONE_SVM_C,
                gamma=LONE_SVM_GAMMA,
            )
    return Digitness(
        forest=FlatForest.from_sklearn(forest.result()),
        svm=shared.result(),
        lone_svm=alone.result() if alone is not None else None,
        lone_forest_power=LONE_FOREST_POWER,
        lone=0.0,
        mean=0.0,
        piece=0.0,
    )


def folds_by_upload(groups: np.ndarray, folds: int = FOLDS) -> np.ndarray:
    """A fold for each example by its upload, the same on every run: for examples that share
    nothing across uploads, such as reviewed uploads."""
    uploads = np.unique(groups)
    fold_of = np.random.default_rng(0).permutation(len(uploads)) % folds
    return fold_of[np.searchsorted(uploads, groups)]
