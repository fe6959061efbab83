"""Fit the scikit-learn estimators of each kind: forests, the calibrated SVM, ensemble weights."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import PredefinedSplit, train_test_split
from sklearn.svm import SVC

from ml.predict import N_CLASSES

# Trees are added in chunks (warm_start) so a progress bar can move; a multiple of 2 cores.
_CHUNK = 10


# Ensemble weights tried for the forest (the SVM gets 1 - w).
_WEIGHT_GRID = np.round(np.linspace(0.0, 1.0, 21), 2)


def _make_forest(
    kind: str, *, max_leaf_nodes: int | None, random_state: int
) -> RandomForestClassifier | ExtraTreesClassifier:
    common: dict[str, Any] = {
        "n_estimators": 0,
        "max_leaf_nodes": max_leaf_nodes,
        "random_state": random_state,
        "n_jobs": -1,
        "warm_start": True,
    }
    if kind == "extratrees":
        return ExtraTreesClassifier(**common)
    return RandomForestClassifier(**common)


def fit_forest(
    kind: str,
    features: np.ndarray,
    y: np.ndarray,
    *,
    n_estimators: int,
    max_leaf_nodes: int | None,
    random_state: int,
    sample_weight: np.ndarray | None,
    progress: Callable[[int], None],
) -> RandomForestClassifier | ExtraTreesClassifier:
    forest = _make_forest(kind, max_leaf_nodes=max_leaf_nodes, random_state=random_state)
    done = 0
    while done < n_estimators:
        done = min(n_estimators, done + _CHUNK)
        forest.set_params(n_estimators=done)
        forest.fit(features, y, sample_weight=sample_weight)
        progress(done)
    # One job per prediction: a forest that keeps n_jobs=-1 is far slower per image.
    forest.set_params(warm_start=False, n_jobs=1)
    return forest


def svm_row_indices(
    n: int, max_rows: int | None, sample_weight: np.ndarray | None, rng: np.random.Generator
) -> np.ndarray:
    """Indices of the rows the SVM trains on: all, or ``max_rows`` of them, the heaviest
    ``sample_weight`` first and at random among equals (so corrections weighted above MNIST
    survive the cap)."""
    if max_rows is None or n <= max_rows:
        return np.arange(n)
    order = rng.permutation(n)
    if sample_weight is not None:
        order = order[np.argsort(-np.asarray(sample_weight)[order], kind="stable")]
    return np.sort(order[:max_rows])


def fit_svm(
    features: np.ndarray,
    y: np.ndarray,
    sample_weight: np.ndarray | None,
    *,
    C: float,
    gamma: float | str,
) -> SVC:
    svc = SVC(C=C, kernel="rbf", gamma=gamma, cache_size=500)
    return svc.fit(features, y, sample_weight=sample_weight)


def holdout_rows(
    y: np.ndarray, n_held: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``n_held`` rows held out and the rest, sorted. Stratified when every class has two rows
    and there is room for each: a small set held out at random can miss a class, which the
    calibration then cannot map to the SVM's columns."""
    counts = np.bincount(y)
    present = counts[counts > 0]
    stratify = y if present.min() >= 2 and n_held >= len(present) else None
    rest, held = train_test_split(
        np.arange(len(y)),
        test_size=n_held,
        stratify=stratify,
        random_state=int(rng.integers(2**31)),
    )
    return np.sort(held), np.sort(rest)


def calibrate(svc: SVC, held_features: np.ndarray, held_y: np.ndarray) -> CalibratedClassifierCV:
    """The fitted ``svc``, frozen, with a temperature fitted on held-out rows.

    Calibrating a frozen SVC on held-out rows costs one ``decision_function`` pass; the
    cross-validated alternatives refit the SVC per fold (5x the fit time), and
    ``SVC(probability=True)`` runs its own 5-fold Platt scaling and is deprecated. One
    temperature keeps the SVC's ranking (so its accuracy) and gave the lowest log loss and an
    ECE of 0.4% on MNIST test, where per-class sigmoids gave 1.3%.
    """
    known = np.isin(held_y, svc.classes_)
    if not known.any():
        raise ValueError("no held-out row has a class the SVM was trained on")
    # Labels as column indices of the SVC, so the calibrated columns are the SVC's classes.
    encoded = np.searchsorted(svc.classes_, held_y[known])
    # The SVC is frozen, so folds only split its predictions: one fold of everything asks
    # nothing of the class counts (5-fold would need 5 held-out rows of every class).
    one_fold = PredefinedSplit(np.zeros(int(known.sum()), dtype=np.int64))
    calibrated = CalibratedClassifierCV(FrozenEstimator(svc), method="temperature", cv=one_fold)
    return calibrated.fit(held_features[known], encoded)


def _mix(
    model_parts: dict[str, np.ndarray], columns: dict[str, np.ndarray], w: float
) -> np.ndarray:
    out = np.zeros((len(next(iter(model_parts.values()))), N_CLASSES))
    out[:, columns["forest"]] += w * model_parts["forest"]
    out[:, columns["svm"]] += (1 - w) * model_parts["svm"]
    return out / out.sum(axis=1, keepdims=True)


def choose_weight(
    parts: dict[str, np.ndarray], columns: dict[str, np.ndarray], y: np.ndarray
) -> tuple[float, float]:
    """The forest weight of the grid with the least log loss on held-out rows, and that loss."""
    losses = []
    for w in _WEIGHT_GRID:
        p = _mix(parts, columns, float(w))[np.arange(len(y)), y]
        losses.append(float(-np.log(np.clip(p, 1e-15, None)).mean()))
    best = int(np.argmin(losses))
    return float(_WEIGHT_GRID[best]), losses[best]
