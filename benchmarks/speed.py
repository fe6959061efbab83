"""How fast Digits answers, each stage against its scikit-learn baseline, measured in one run.

Usage: python benchmarks/speed.py [--model ARTIFACT_DIR] [--calls 2000] [--requests 100]

ARTIFACT_DIR is a RandomForest artifact folder (model.npz, model.joblib, metadata.json), e.g.
from `python -m ml.train --kind rf --out DIR`: this benchmark measures the forest's flat
inference path against scikit-learn's, which an SVM or ensemble artifact does not have
(benchmarks/accuracy.py and load.py cover those). Without --model it trains a forest
(100 trees on --train-limit MNIST images, the project's features) into a temporary folder,
which takes a few minutes on two busy cores. The machine is shared and noisy, so only compare
numbers printed by the same run; each table prints the load average it ran under, and the
request rows also give CPU time, which noise from other processes inflates far less.

Stages, each for a 280x280 canvas PNG and a 12 MP phone JPEG: decode (`load_image`),
preprocess (`to_mnist`), featurize, inference, and the whole upload request through Django's
test Client in-process (SQLite in a temporary folder, the image stored, predicted and saved).
With --gunicorn-memory it also starts `gunicorn -c gunicorn.conf.py` (preload) with 1 and
with 4 workers and reads their PSS/USS from /proc/<pid>/smaps_rollup.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import joblib
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.speed_memory import artifact_rows, memory_rows, shared_memory_row  # noqa: E402
from benchmarks.speed_stages import request_rows, stage_rows  # noqa: E402
from benchmarks.timing import Row, machine_description, ms, print_table, time_calls  # noqa: E402
from ml.features import featurize  # noqa: E402
from ml.forest_arrays import FlatForest  # noqa: E402
from ml.predict import artifact_file  # noqa: E402


def read_idx(path: Path, header: int) -> np.ndarray:
    with gzip.open(path) as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=header)


def load_mnist(data_dir: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train images (60000, 784) float32 in [0, 1], train labels uint8, test images float32."""
    X = read_idx(data_dir / "train-images-idx3-ubyte.gz", 16).reshape(-1, 784)
    y = read_idx(data_dir / "train-labels-idx1-ubyte.gz", 8)
    X_test = read_idx(data_dir / "t10k-images-idx3-ubyte.gz", 16).reshape(-1, 784)
    return X.astype(np.float32) / 255, y, X_test.astype(np.float32) / 255


def inference_rows(forest: Any, flat: FlatForest, images: np.ndarray) -> list[Row]:
    """Single-image predict_proba: scikit-learn against the other paths, same images."""
    reference = forest.predict_proba(images)

    def plain_loop(image: np.ndarray) -> np.ndarray:
        X = image.reshape(1, -1)
        total = np.zeros((1, flat.n_classes))
        for tree in forest.estimators_:
            total += tree.predict_proba(X, check_input=False)
        return total[0] / len(forest.estimators_)

    paths: list[tuple[str, Callable[[np.ndarray], np.ndarray]]] = [
        (
            "scikit-learn predict_proba, n_jobs=1",
            lambda x: forest.predict_proba(x.reshape(1, -1))[0],
        ),
        ("plain loop over tree.predict_proba", plain_loop),
        ("FlatForest, numba (served)", flat.predict_proba),
    ]
    rows, baseline = [], None
    for name, predict in paths:
        seconds = time_calls(predict, images)
        outputs = np.array([predict(image) for image in images[:500]])
        diff = float(np.abs(outputs - reference[:500]).max())
        same = np.array_equal(outputs, reference[:500])
        median = float(np.median(seconds))
        baseline = baseline or median
        rows.append(
            Row(
                "inference, 1 image",
                name,
                ms(median),
                ms(float(np.percentile(seconds, 95))),
                f"{baseline / median:.1f}x",
                "bit-identical" if same else f"max abs diff {diff:.1e}",
            )
        )
    return rows


def train_default(workdir: Path, limit: int) -> Path:
    """Train a forest (train_model's defaults, kind rf) into workdir/model; return the folder."""
    from ml.artifact import save_artifact
    from ml.data import load_mnist as load_digits
    from ml.train import train_model

    images, labels = load_digits("train", limit=limit or None)
    result = train_model(images, labels)
    artifact = save_artifact(
        result.model,
        workdir / "model",
        version="speed-bench",
        params=result.params,
        metrics=result.metrics,
        data_source=f"mnist-train[:{len(labels)}]",
        train_seconds=result.train_seconds,
    )
    return artifact.path.parent


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="an artifact folder written by train_model")
    parser.add_argument("--train-limit", type=int, default=0, help="MNIST images (0 = all)")
    parser.add_argument("--data-dir", type=Path, default=ROOT / "data" / "mnist")
    parser.add_argument("--calls", type=int, default=2000, help="single-image inference calls")
    parser.add_argument("--stage-calls", type=int, default=100, help="calls per stage and path")
    parser.add_argument("--requests", type=int, default=60, help="canvas uploads per path")
    parser.add_argument(
        "--gunicorn-memory", action="store_true", help="measure gunicorn with 1 and 4 workers"
    )
    args = parser.parse_args(argv)
    load_before = os.getloadavg()

    with tempfile.TemporaryDirectory(prefix="digits-speed-") as tmp:
        workdir = Path(tmp)
        if args.model:
            artifact_dir = args.model
            kind = json.loads((artifact_dir / "metadata.json").read_text()).get("kind", "rf")
            if kind != "rf":
                parser.error(
                    f"{artifact_dir} holds a model of kind {kind}; this benchmark needs a "
                    "RandomForest artifact (python -m ml.train --kind rf --out DIR)"
                )
            source = f"artifact {args.model}"
        else:
            start = time.perf_counter()
            artifact_dir = train_default(workdir, args.train_limit)
            source = f"default model trained here in {time.perf_counter() - start:.0f} s"
        joblib_path = artifact_dir / "model.joblib"
        npz_path = artifact_file(artifact_dir)
        sha256 = json.loads((artifact_dir / "metadata.json").read_text())["sha256"]
        forest = joblib.load(joblib_path).set_params(n_jobs=1)
        flat = FlatForest.load(npz_path)

        _, _, X_test = load_mnist(args.data_dir)
        picked = np.random.default_rng(0).choice(len(X_test), args.calls, replace=False)
        features = featurize(X_test[picked].reshape(-1, 28, 28))

        rows: list[Row] = []

        def add(new: list[Row]) -> None:
            rows.extend(new)
            for r in new:  # progress, in case a later section fails
                print(
                    f"  {r.stage} | {r.path} | {r.median} | {r.p95} | {r.output}", file=sys.stderr
                )

        add(stage_rows(forest, flat, args.stage_calls))
        add(request_rows(artifact_dir, forest, args.requests, workdir))
        add(inference_rows(forest, flat, features))
        add(artifact_rows(joblib_path, npz_path, sha256))
        add([shared_memory_row(npz_path)])
        if args.gunicorn_memory:
            add(memory_rows(artifact_dir, workdir))

    n_nodes = sum(e.tree_.node_count for e in forest.estimators_)
    load_after = os.getloadavg()
    print_table(
        f"{machine_description()}; load average {load_before[0]:.1f} before, "
        f"{load_after[0]:.1f} after\n{type(forest).__name__}, {len(forest.estimators_)} trees, "
        f"{n_nodes} nodes, {forest.n_features_in_} features ({source}); {args.calls} "
        "single-image inference calls per path on MNIST test digits; medians and p95 are wall "
        "time, CPU is the median process time of the same calls",
        rows,
    )
    print("\n" + json.dumps({"flat_sha256": flat.sha256()}))


if __name__ == "__main__":
    main()
