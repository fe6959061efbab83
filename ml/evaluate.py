"""Accuracy, per-class precision/recall and the confusion matrix of a model on labelled images."""

from __future__ import annotations

from typing import Any

import numpy as np

from ml.predict import N_CLASSES, Model

_BATCH = 2000


def evaluate(model: Model, X: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """Score ``model`` on images ``X`` (n, 28, 28) uint8 or float [0, 1] with labels ``y`` (n,).

    Returns ``{"accuracy": float, "n": int, "per_class": {"0": {"precision": float, "recall":
    float, "support": int}, ...}, "confusion": 10x10 list of ints}``; confusion rows are true
    labels, columns predicted ones.
    """
    y = np.asarray(y).astype(np.int64)
    n = len(y)
    if len(X) != n:
        raise ValueError(f"{len(X)} images but {n} labels")
    predicted = np.empty(n, dtype=np.int64)
    for start in range(0, n, _BATCH):
        proba = model.predict_proba(np.asarray(X[start : start + _BATCH]))
        predicted[start : start + _BATCH] = proba.reshape(-1, N_CLASSES).argmax(axis=1)
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
    }
