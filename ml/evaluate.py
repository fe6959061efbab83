"""Accuracy, per-class precision/recall, the confusion matrix and the calibration of a model."""

from __future__ import annotations

from typing import Any

import numpy as np

from ml.predict import N_CLASSES, Model

_BATCH = 2000
CALIBRATION_BINS = 10


def calibration(
    confidence: np.ndarray, correct: np.ndarray, *, n_bins: int = CALIBRATION_BINS
) -> dict[str, Any]:
    """Expected calibration error and the reliability diagram of top-class predictions.

    ``confidence`` float (n,), the top probability of each prediction; ``correct`` bool (n,).
    Bins are equal widths of confidence, [0, 0.1), [0.1, 0.2), ..., [0.9, 1.0] for 10.
    Returns ``{"ece": float, "bins": [{"lower": float, "upper": float, "count": int,
    "confidence": float | None, "accuracy": float | None}, ...]}``: ``confidence`` and
    ``accuracy`` are the bin's means (None when it is empty); ``ece`` is the mean of
    ``|accuracy - confidence|`` over bins, weighted by ``count``.
    """
    confidence = np.asarray(confidence, dtype=np.float64)
    correct = np.asarray(correct, dtype=bool)
    n = len(confidence)
    index = np.clip((confidence * n_bins).astype(np.int64), 0, n_bins - 1)
    bins: list[dict[str, Any]] = []
    ece = 0.0
    for b in range(n_bins):
        members = index == b
        count = int(members.sum())
        mean_confidence = float(confidence[members].mean()) if count else None
        accuracy = float(correct[members].mean()) if count else None
        if count:
            ece += count / n * abs(accuracy - mean_confidence)
        bins.append(
            {
                "lower": b / n_bins,
                "upper": (b + 1) / n_bins,
                "count": count,
                "confidence": mean_confidence,
                "accuracy": accuracy,
            }
        )
    return {"ece": ece, "bins": bins}


def evaluate(model: Model, X: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """Score ``model`` on images ``X`` (n, 28, 28) uint8 or float [0, 1] with labels ``y`` (n,).

    Returns ``{"accuracy": float, "n": int, "per_class": {"0": {"precision": float, "recall":
    float, "support": int}, ...}, "confusion": 10x10 list of ints, "calibration": {"ece": float,
    "bins": [...]}}``; confusion rows are true labels, columns predicted ones; calibration is
    `calibration` of the top probabilities.
    """
    y = np.asarray(y).astype(np.int64)
    n = len(y)
    if len(X) != n:
        raise ValueError(f"{len(X)} images but {n} labels")
    predicted = np.empty(n, dtype=np.int64)
    confidence = np.empty(n, dtype=np.float64)
    for start in range(0, n, _BATCH):
        proba = model.predict_proba(np.asarray(X[start : start + _BATCH])).reshape(-1, N_CLASSES)
        predicted[start : start + _BATCH] = proba.argmax(axis=1)
        confidence[start : start + _BATCH] = proba.max(axis=1)
    confusion = np.zeros((N_CLASSES, N_CLASSES), dtype=np.int64)
    np.add.at(confusion, (y, predicted), 1)
    per_class: dict[str, dict[str, float | int]] = {}
    for d in range(N_CLASSES):
        tp = int(confusion[d, d])
        predicted_d = int(confusion[:, d].sum())
        support = int(confusion[d, :].sum())
        per_class[str(d)] = {
            "precision": tp / predicted_d if predicted_d else 0.0,
            "recall": tp / support if support else 0.0,
            "support": support,
        }
    return {
        "accuracy": float(np.trace(confusion) / n) if n else 0.0,
        "n": n,
        "per_class": per_class,
        "confusion": confusion.tolist(),
        "calibration": calibration(confidence, predicted == y),
    }
