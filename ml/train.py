"""Train the digit forest and save it as an artifact (joblib file + JSON metadata).

CLI: ``python -m ml.train --out DIR [--n-estimators N] [--limit N] [--kind rf|extratrees]``.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import joblib
import numpy as np
import sklearn
from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier

from ml.features import FEATURES_VERSION, featurize
from ml.forest_arrays import FlatForest
from ml.predict import ARTIFACT_NAME, METADATA_NAME, RECORD_NAME, Model, file_sha256

DEFAULT_N_ESTIMATORS = 100
# Trees are added in chunks (warm_start) so a progress bar can move; a multiple of 2 cores.
_CHUNK = 10

Kind = Literal["rf", "extratrees"]


@dataclass
class TrainResult:
    """A fitted model (``Model``, ready for ``predict_proba``/``evaluate``) and how it was made."""

    model: Model
    metrics: dict[str, Any]
    params: dict[str, Any]
    train_seconds: float


@dataclass
class Artifact:
    """A saved model: ``path`` of the serving file (forest.npz), its ``sha256``, the metadata."""

    path: Path
    sha256: str
    metadata: dict[str, Any] = field(default_factory=dict)


def _make_forest(
    kind: Kind, *, max_leaf_nodes: int | None, random_state: int
) -> RandomForestClassifier | ExtraTreesClassifier:
    common: dict[str, Any] = {
        "n_estimators": 0,
        "max_leaf_nodes": max_leaf_nodes,
        "random_state": random_state,
        "n_jobs": -1,
        "warm_start": True,
    }
    if kind == "rf":
        return RandomForestClassifier(**common)
    if kind == "extratrees":
        return ExtraTreesClassifier(**common)
    raise ValueError(f"kind must be 'rf' or 'extratrees', not {kind!r}")


def train_model(
    X: np.ndarray,
    y: np.ndarray,
    *,
    n_estimators: int = DEFAULT_N_ESTIMATORS,
    max_leaf_nodes: int | None = None,
    kind: Kind = "rf",
    random_state: int = 0,
    sample_weight: np.ndarray | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> TrainResult:
    """Fit a forest on MNIST-format images.

    ``X`` is (n, 28, 28), uint8 0..255 or float in [0, 1] (the output format of ``to_mnist``);
    ``y`` is (n,) integer labels 0..9; ``sample_weight`` optional (n,) float. ``progress`` is
    called as ``progress(done_trees, total_trees)`` after each chunk of trees.
    Returns a ``TrainResult`` whose ``model`` is a ready ``Model`` (version "unsaved").
    """
    if n_estimators < 1:
        raise ValueError("n_estimators must be at least 1")
    y = np.asarray(y).astype(np.int64)
    if len(X) != len(y):
        raise ValueError(f"{len(X)} images but {len(y)} labels")
    started = time.perf_counter()
    features = featurize(X)
    forest = _make_forest(kind, max_leaf_nodes=max_leaf_nodes, random_state=random_state)
    done = 0
    if progress is not None:
        progress(0, n_estimators)
    while done < n_estimators:
        done = min(n_estimators, done + _CHUNK)
        forest.set_params(n_estimators=done)
        forest.fit(features, y, sample_weight=sample_weight)
        if progress is not None:
            progress(done, n_estimators)
    forest.set_params(warm_start=False, n_jobs=1)
    seconds = time.perf_counter() - started
    params = {
        "kind": kind,
        "n_estimators": n_estimators,
        "max_leaf_nodes": max_leaf_nodes,
        "random_state": random_state,
        "features": FEATURES_VERSION,
        "n_features": int(features.shape[1]),
        "n_train": len(y),
    }
    metrics = {
        "n_train": len(y),
        "n_leaves": int(sum(t.get_n_leaves() for t in forest.estimators_)),
    }
    model = Model(forest, version="unsaved", sha256="", metadata={"params": params})
    return TrainResult(model=model, metrics=metrics, params=params, train_seconds=seconds)


def save_artifact(
    model: Model | Any,
    out_dir: Path,
    *,
    version: str,
    params: dict[str, Any],
    metrics: dict[str, Any],
    data_source: str,
    train_seconds: float,
) -> Artifact:
    """Write the artifact folder: ``forest.npz``, ``model.joblib`` and ``metadata.json``.

    ``forest.npz`` is what serves (flat arrays, no pickle); ``model.joblib`` is the fitted
    scikit-learn forest, compressed, kept as the training record. ``model`` is a ``Model``
    (from ``train_model``) or a bare fitted forest. The metadata holds the
    python/scikit-learn/numpy versions, feature version, data source, params, metrics, training
    time and the sha256 of both files. Returns the ``Artifact`` of the serving file.
    """
    forest = model.forest if isinstance(model, Model) else model
    flat = model.flat if isinstance(model, Model) else FlatForest.from_sklearn(forest)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    record = out_dir / RECORD_NAME
    forest.set_params(n_jobs=1)
    tmp = out_dir / f"{RECORD_NAME}.tmp"
    joblib.dump(forest, tmp, compress=3)
    tmp.replace(record)
    path = out_dir / ARTIFACT_NAME
    tmp = out_dir / f".partial-{ARTIFACT_NAME}"
    flat.save(tmp)
    tmp.replace(path)
    sha256 = file_sha256(path)
    metadata = {
        "version": version,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "sha256": sha256,
        "artifact": ARTIFACT_NAME,
        "artifact_bytes": path.stat().st_size,
        "training_record": {
            "file": RECORD_NAME,
            "sha256": file_sha256(record),
            "bytes": record.stat().st_size,
        },
        "python": platform.python_version(),
        "sklearn": sklearn.__version__,
        "numpy": np.__version__,
        "joblib": joblib.__version__,
        "features": FEATURES_VERSION,
        "data_source": data_source,
        "params": params,
        "metrics": metrics,
        "train_seconds": round(float(train_seconds), 3),
    }
    (out_dir / METADATA_NAME).write_text(json.dumps(metadata, indent=2, sort_keys=True) + "\n")
    return Artifact(path=path, sha256=sha256, metadata=metadata)


def main(argv: list[str] | None = None) -> int:
    from ml.data import DEFAULT_DATA_DIR, load_mnist
    from ml.evaluate import evaluate

    parser = argparse.ArgumentParser(prog="python -m ml.train", description=__doc__)
    parser.add_argument("--out", type=Path, required=True, help="directory for the artifact")
    parser.add_argument("--n-estimators", type=int, default=DEFAULT_N_ESTIMATORS)
    parser.add_argument("--max-leaf-nodes", type=int, default=None)
    parser.add_argument("--kind", choices=["rf", "extratrees"], default="rf")
    parser.add_argument("--limit", type=int, default=None, help="use the first N training images")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--version", default=None, help="version string (default: timestamp)")
    args = parser.parse_args(argv)

    X, y = load_mnist("train", data_dir=args.data_dir, limit=args.limit)
    Xt, yt = load_mnist("test", data_dir=args.data_dir)

    def report(done: int, total: int) -> None:
        bar = "#" * math.floor(30 * done / total)
        print(f"\rtraining [{bar:<30}] {done}/{total} trees", end="", file=sys.stderr, flush=True)

    result = train_model(
        X,
        y,
        n_estimators=args.n_estimators,
        max_leaf_nodes=args.max_leaf_nodes,
        kind=args.kind,
        progress=report,
    )
    print(file=sys.stderr)
    metrics = {**result.metrics, **evaluate(result.model, Xt, yt)}
    version = args.version or datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    artifact = save_artifact(
        result.model,
        args.out,
        version=version,
        params=result.params,
        metrics=metrics,
        data_source=f"MNIST IDX files ({len(y)} train, {len(yt)} test)",
        train_seconds=result.train_seconds,
    )
    size_mb = artifact.path.stat().st_size / 1e6
    print(
        f"version {version}: accuracy {metrics['accuracy']:.4f} on {metrics['n']} test images, "
        f"trained in {result.train_seconds:.1f} s, artifact {size_mb:.1f} MB, "
        f"sha256 {artifact.sha256}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
