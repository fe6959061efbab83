"""Train a digit model of any kind and save it as an artifact (.npz + joblib record + metadata).

CLI: ``python -m ml.train --out DIR [--kind rf|extratrees|svm|ensemble] [--limit N] ...``
(see ``--help``); it is a thin shell over `train_and_save`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ml.artifact import Artifact, save_artifact
from ml.augment import FLAGGED_SHARE, with_flagged_ones
from ml.digitness_data import Examples, fit_digitness
from ml.estimators import (
    calibrate,
    choose_weight,
    fit_forest,
    fit_svm,
    holdout_rows,
    svm_row_indices,
)
from ml.evaluate import evaluate
from ml.features import FEATURES_VERSION, featurize
from ml.predict import (
    FOREST_KINDS,
    KINDS,
    Kind,
    Model,
)
from ml.wholeness import DEFAULT_LINES, train_wholeness

# What `train_and_save` and the CLI train by default; `train_model` defaults to "rf".
DEFAULT_KIND: Kind = "ensemble"
DEFAULT_N_ESTIMATORS = 100
# The ensemble's forest only grades confidence: 30 trees do that as well as 100.
DEFAULT_ENSEMBLE_N_ESTIMATORS = 30
DEFAULT_SVM_C = 10.0
# libsvm's fit is O(n^2) in the rows it sees: this bounds it (all of MNIST's 54k fit rows fit).
DEFAULT_MAX_SVM_TRAIN = 60_000
# Rows held out to fit the SVM temperature and ensemble weights (capped: SVC scoring is slow).
HOLDOUT_FRACTION = 0.1
MAX_HOLDOUT = 6000

# One wholeness line per this many training images, so small sets train quickly.
WHOLENESS_IMAGES_PER_LINE = 5

Progress = Callable[[int, int], None]
# A stage's own progress, in its own unit: ``stage(name, done, total, unit)``, e.g. ("Forest",
# 10, 30, "trees"); a stage with no steps of its own (an SVM fit) reports (name, 0, 1, "") at
# its start and (name, 1, 1, "") at its end.
StageProgress = Callable[[str, int, int, str], None]
# Images featurized between two progress reports (featurize itself works in chunks too).
_FEATURE_STEP = 5000


def _featurize(X: np.ndarray, stage: StageProgress | None) -> np.ndarray:
    if stage is None:
        return featurize(X)
    n = len(X)
    parts = []
    stage("Features", 0, n, "images")
    for start in range(0, max(n, 1), _FEATURE_STEP):
        parts.append(featurize(X[start : start + _FEATURE_STEP]))
        stage("Features", min(n, start + _FEATURE_STEP), n, "images")
    return np.concatenate(parts, axis=0) if len(parts) > 1 else parts[0]


@dataclass
class TrainResult:
    """A fitted model (``Model``, ready for ``predict_proba``/``evaluate``) and how it was made."""

    model: Model
    metrics: dict[str, Any]
    params: dict[str, Any]
    train_seconds: float


def train_model(
    X: np.ndarray,
    y: np.ndarray,
    *,
    n_estimators: int | None = None,
    max_leaf_nodes: int | None = None,
    kind: Kind = "rf",
    random_state: int = 0,
    sample_weight: np.ndarray | None = None,
    progress: Progress | None = None,
    C: float = DEFAULT_SVM_C,
    gamma: float | str = "scale",
    max_svm_train: int | None = DEFAULT_MAX_SVM_TRAIN,
    holdout: float = HOLDOUT_FRACTION,
    stage: StageProgress | None = None,
) -> TrainResult:
    """Fit a model of ``kind`` on MNIST-format images.

    ``X`` is (n, 28, 28), uint8 0..255 or float in [0, 1] (the output format of ``to_mnist``);
    ``y`` is (n,) integer labels 0..9; ``sample_weight`` optional (n,) float.

    - ``rf``/``extratrees``: a forest of ``n_estimators`` trees (default 100; ``max_leaf_nodes``)
      on all rows; ``progress(done_trees, total_trees)`` after each chunk of trees.
    - ``svm``: an RBF SVC (``C``, ``gamma``) on at most ``max_svm_train`` rows, its probabilities
      temperature-calibrated on a held-out ``holdout`` share of the rows (at most 6,000).
    - ``ensemble``: a RandomForest (``n_estimators``, default 30) and the SVM trained on the
      same rows, less the held-out ones, which calibrate the SVM and choose the weights of their
      average (least log loss).

    For svm and ensemble, ``progress(done, 100)`` reports percent of the expected time, by stage;
    ``stage`` gets each stage's own progress (``StageProgress``).
    Returns a ``TrainResult`` whose ``model`` is a ready ``Model`` (version "unsaved").
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    if n_estimators is None:
        n_estimators = DEFAULT_ENSEMBLE_N_ESTIMATORS if kind == "ensemble" else DEFAULT_N_ESTIMATORS
    if kind != "svm" and n_estimators < 1:
        raise ValueError("n_estimators must be at least 1")
    y = np.asarray(y).astype(np.int64)
    if len(X) != len(y):
        raise ValueError(f"{len(X)} images but {len(y)} labels")
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, dtype=np.float64)
    started = time.perf_counter()
    features = _featurize(X, stage)

    def step(name: str, done: int, total: int = 1, unit: str = "") -> None:
        if stage is not None:
            stage(name, done, total, unit)

    params: dict[str, Any] = {
        "kind": kind,
        "random_state": random_state,
        "features": FEATURES_VERSION,
        "n_features": int(features.shape[1]),
        "n_train": len(y),
    }
    metrics: dict[str, Any] = {"n_train": len(y)}

    if kind in FOREST_KINDS:

        def tree_progress(done: int) -> None:
            step("Forest", done, n_estimators, "trees")
            if progress is not None:
                progress(done, n_estimators)

        tree_progress(0)
        forest = fit_forest(
            kind,
            features,
            y,
            n_estimators=n_estimators,
            max_leaf_nodes=max_leaf_nodes,
            random_state=random_state,
            sample_weight=sample_weight,
            progress=tree_progress,
        )
        params |= {"n_estimators": n_estimators, "max_leaf_nodes": max_leaf_nodes}
        metrics["n_leaves"] = int(sum(t.get_n_leaves() for t in forest.estimators_))
        model = Model(forest, kind=kind, version="unsaved", sha256="", metadata={"params": params})
        seconds = time.perf_counter() - started
        return TrainResult(model=model, metrics=metrics, params=params, train_seconds=seconds)

    def percent(done: int) -> None:
        if progress is not None:
            progress(done, 100)

    # Stage ends in percent of the expected time (MNIST on 2 cores: features and 30 trees about
    # a fifth, the SVC fit half, its calibration a fifth).
    forest_end, svm_end, calibrated_end = (20, 70, 95) if kind == "ensemble" else (0, 75, 99)
    percent(0)
    rng = np.random.default_rng(random_state)
    n_held = min(MAX_HOLDOUT, max(1, round(holdout * len(y))))
    held, rest = holdout_rows(y, n_held, rng)
    weight_rest = sample_weight[rest] if sample_weight is not None else None

    def ensemble_trees(done: int) -> None:
        step("Forest", done, n_estimators, "trees")
        percent(forest_end * done // n_estimators)

    forest = None
    if kind == "ensemble":
        forest = fit_forest(
            "rf",
            features[rest],
            y[rest],
            n_estimators=n_estimators,
            max_leaf_nodes=max_leaf_nodes,
            random_state=random_state,
            sample_weight=weight_rest,
            progress=ensemble_trees,
        )
        params |= {"n_estimators": n_estimators, "max_leaf_nodes": max_leaf_nodes}
        metrics["n_leaves"] = int(sum(t.get_n_leaves() for t in forest.estimators_))

    svm_rows = rest[svm_row_indices(len(rest), max_svm_train, weight_rest, rng)]
    svm_started = time.perf_counter()
    svm_stage = f"SVM on {len(svm_rows)} digits"
    step(svm_stage, 0)
    svc = fit_svm(
        features[svm_rows],
        y[svm_rows],
        sample_weight[svm_rows] if sample_weight is not None else None,
        C=C,
        gamma=gamma,
    )
    metrics["svm_fit_seconds"] = round(time.perf_counter() - svm_started, 1)
    step(svm_stage, 1)
    percent(svm_end)
    step("Calibration", 0)
    calibrated = calibrate(svc, features[held], y[held])
    step("Calibration", 1)
    percent(calibrated_end)
    params |= {
        "C": C,
        "gamma": float(svc._gamma),
        "calibration": "temperature",
        "max_svm_train": max_svm_train,
        "n_svm_train": len(svm_rows),
        "n_holdout": len(held),
    }
    metrics["n_support_vectors"] = int(svc.support_vectors_.shape[0])

    weights = None
    if kind == "ensemble":
        parts_model = Model(
            forest,
            kind="ensemble",
            svm=calibrated,
            weights={"forest": 0.5, "svm": 0.5},
            version="unsaved",
            sha256="",
        )
        held_parts = parts_model.part_probas(features[held])
        w, loss = choose_weight(held_parts, parts_model.columns, y[held])
        weights = {"forest": w, "svm": round(1 - w, 2)}
        params["weights"] = weights
        metrics["holdout"] = {
            "n": len(held),
            "log_loss": round(loss, 5),
            **{
                f"accuracy_{name}": float(
                    (parts_model.columns[name][proba.argmax(axis=1)] == y[held]).mean()
                )
                for name, proba in held_parts.items()
            },
        }
    model = Model(
        forest,
        kind=kind,
        svm=calibrated,
        weights=weights,
        version="unsaved",
        sha256="",
        metadata={"params": params},
    )
    percent(100)
    seconds = time.perf_counter() - started
    return TrainResult(model=model, metrics=metrics, params=params, train_seconds=seconds)


def train_and_save(
    X: np.ndarray,
    y: np.ndarray,
    *,
    out_dir: Path,
    version: str,
    data_source: str,
    kind: Kind = DEFAULT_KIND,
    test: tuple[np.ndarray, np.ndarray] | None = None,
    progress: Progress | None = None,
    wholeness_lines: int | None = None,
    flagged_ones: float = FLAGGED_SHARE,
    stage: StageProgress | None = None,
    digitness: Examples | None = None,
    digitness_trees: int | None = None,
    **params: Any,
) -> tuple[TrainResult, Artifact, dict[str, Any]]:
    """Train (``train_model(X, y, kind=kind, progress=progress, **params)``) and the model's
    wholeness part (``ml.wholeness``, on ``wholeness_lines`` lines written with ``X``; default
    one per WHOLENESS_IMAGES_PER_LINE images, at most ``ml.wholeness.DEFAULT_LINES``; 0 for
    none), with flagged copies of ``flagged_ones`` of the 1s added to ``X`` (``ml.augment``;
    0 for none), and the "not a digit" detector when ``digitness`` examples are given
    (``ml.digitness_data.fit_digitness``, ``digitness_trees`` trees),
    evaluate on ``test`` = (images (n, 28, 28), labels (n,)) when given, and save the artifact in
    ``out_dir``.
    ``progress(done, 100)`` covers both; ``stage`` gets each stage's own progress, these included
    (``StageProgress``).

    Returns ``(result, artifact, metrics)``: the metrics saved in the metadata, the training
    metrics plus ``ml.evaluate.evaluate`` on ``test`` (accuracy, per class, confusion,
    calibration).
    """
    if wholeness_lines is None:
        wholeness_lines = min(DEFAULT_LINES, len(X) // WHOLENESS_IMAGES_PER_LINE)
    # On all of MNIST (2 cores) the ensemble takes about 55 s and the wholeness part 95 s.
    split = 40 if wholeness_lines else 100

    def model_progress(done: int, total: int) -> None:
        if progress is not None:
            progress(split * done // max(total, 1), 100)

    def wholeness_progress(done: int, total: int) -> None:
        if stage is not None:
            stage("Whole-digit examples", done, total, "lines")
            if done == total:
                stage("Whole-digit forest", 0, 1, "")
        if progress is not None:
            progress(split + (100 - split) * done // max(total, 1), 100)

    X_fit, y_fit, weight = with_flagged_ones(
        X,
        y,
        share=flagged_ones,
        random_state=params.get("random_state", 0),
        sample_weight=params.pop("sample_weight", None),
    )
    result = train_model(
        X_fit,
        y_fit,
        kind=kind,
        progress=model_progress,
        sample_weight=weight,
        stage=stage,
        **params,
    )
    result.params["flagged_ones"] = flagged_ones
    if wholeness_lines:
        started = time.perf_counter()
        result.model.set_wholeness(
            train_wholeness(
                X,
                n_lines=wholeness_lines,
                random_state=params.get("random_state", 0),
                progress=wholeness_progress,
            )
        )
        result.params["wholeness_lines"] = wholeness_lines
        result.train_seconds += time.perf_counter() - started
        if stage is not None:
            stage("Whole-digit forest", 1, 1, "")
    metrics = dict(result.metrics)
    if digitness is not None:
        started = time.perf_counter()

        def detector_progress(done: int, total: int) -> None:
            if stage is not None:
                stage("Not-a-digit detector", done, total, "steps")

        result.model.digitness, metrics["digitness"] = fit_digitness(
            digitness,
            random_state=params.get("random_state", 0),
            n_estimators=digitness_trees,
            progress=detector_progress,
        )
        result.params["digitness_examples"] = len(digitness)
        result.train_seconds += time.perf_counter() - started
    if test is not None:
        if stage is not None:
            stage(f"Scoring on {len(test[1])} test digits", 0, 1, "")
        metrics |= evaluate(result.model, *test)
        if stage is not None:
            stage(f"Scoring on {len(test[1])} test digits", 1, 1, "")
    artifact = save_artifact(
        result.model,
        out_dir,
        version=version,
        params=result.params,
        metrics=metrics,
        data_source=data_source,
        train_seconds=result.train_seconds,
    )
    return result, artifact, metrics


if __name__ == "__main__":
    from ml.train_cli import main

    raise SystemExit(main())
