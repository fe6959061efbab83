"""Accuracy on MNIST and on realistic uploads: the naive seed pipeline vs this project's.

Usage::

    python benchmarks/accuracy.py [--per-kind N] [--model PREVIOUS_DIR] [--current DIR] [--seed S]

Columns: (a) the seed's naive pipeline (grey, resize to 28x28, invert, RandomForest(100) on raw
pixels, trained in this run on the same MNIST training set); (b) this project's pipeline
(``load_image`` + ``to_mnist``) and model (trained in this run with the defaults, unless
``--current`` names a saved one); (c) a previous model directory given with ``--model``, run
through this project's pipeline. Rows: MNIST test, then each kind of upload from
``testkit/uploads.py``. Blank kinds count as correct when the image is refused.

The script also prints training time, artifact size, load time and a table of low-confidence
thresholds (how many predictions each would flag, and the accuracy on each side).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.ensemble import RandomForestClassifier

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ml.data import load_mnist
from ml.evaluate import evaluate
from ml.predict import ARTIFACT_NAME, Model, load_model
from ml.preprocess import ImageRejected, load_image, to_mnist
from ml.train import save_artifact, train_model
from testkit.uploads import BLANK_KINDS, DRAWING_KINDS, KINDS, ODD_KINDS, PHOTO_KINDS, generate


def naive_input(data: bytes) -> np.ndarray:
    """The seed app's preprocessing: grey, squash to 28x28, invert. (784,) float32."""
    with warnings.catch_warnings():
        # Pillow warns about palette transparency here; the seed app ignored it too.
        warnings.simplefilter("ignore")
        im = Image.open(io.BytesIO(data)).convert("L").resize((28, 28))
    return (255 - np.asarray(im, dtype=np.float32)).reshape(-1) / 255


def project_input(data: bytes) -> np.ndarray | None:
    """This project's path; None when the upload is refused."""
    try:
        return to_mnist(load_image(data))
    except ImageRejected:
        return None


def _load_dir(path: Path) -> Model:
    meta = json.loads((path / "metadata.json").read_text())
    # The benchmark trusts the directory it is pointed at: its own metadata supplies the hash.
    return load_model(path, expected_sha256=meta["sha256"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-kind", type=int, default=100)
    parser.add_argument("--model", type=Path, default=None, help="previous model directory (c)")
    parser.add_argument("--current", type=Path, default=None, help="saved model for (b)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--json", type=Path, default=None, help="also write results here")
    args = parser.parse_args(argv)

    X, y = load_mnist("train")
    Xt, yt = load_mnist("test")
    facts: dict[str, object] = {
        "machine": f"{platform.machine()}, {platform.system()}, {os.cpu_count()} cores",
        "python": platform.python_version(),
    }

    started = time.perf_counter()
    naive = RandomForestClassifier(n_estimators=100, n_jobs=-1, random_state=0)
    naive.fit(X.reshape(len(X), -1).astype(np.float32) / 255, y)
    naive.set_params(n_jobs=1)
    facts["naive_train_seconds"] = round(time.perf_counter() - started, 1)

    if args.current is None:
        result = train_model(X, y)
        out = Path(tempfile.mkdtemp(prefix="digits-bench-"))
        save_artifact(
            result.model,
            out,
            version="bench",
            params=result.params,
            metrics={},
            data_source="MNIST train (60000)",
            train_seconds=result.train_seconds,
        )
        facts["train_seconds"] = round(result.train_seconds, 1)
        facts["params"] = result.params
        current_dir = out
    else:
        current_dir = args.current
    size = (current_dir / ARTIFACT_NAME).stat().st_size
    started = time.perf_counter()
    current = _load_dir(current_dir)
    facts["load_seconds"] = round(time.perf_counter() - started, 3)
    if args.current is not None:
        facts["train_seconds"] = current.metadata.get("train_seconds")
        facts["params"] = current.metadata.get("params")
    facts["artifact_mb"] = round(size / 1e6, 1)
    previous = _load_dir(args.model) if args.model is not None else None

    columns = ["naive", "this"] + (["previous"] if previous is not None else [])
    rows: dict[str, dict[str, float]] = {}
    rows["mnist_test"] = {
        "naive": float((naive.predict(Xt.reshape(len(Xt), -1) / 255) == yt).mean()),
        "this": evaluate(current, Xt, yt)["accuracy"],
    }
    if previous is not None:
        rows["mnist_test"]["previous"] = evaluate(previous, Xt, yt)["accuracy"]
    facts["mnist_accuracy"] = rows["mnist_test"]["this"]

    top_probs: list[float] = []
    top_correct: list[bool] = []
    proba_mnist = current.predict_proba(Xt)
    top_probs += proba_mnist.max(axis=1).tolist()
    top_correct += (proba_mnist.argmax(axis=1) == yt).tolist()
    preprocess_ms: list[float] = []
    for kind in KINDS:
        uploads = generate(kind, args.per_kind, seed=args.seed)
        hits = dict.fromkeys(columns, 0)
        for up in uploads:
            naive_digit = int(naive.predict(naive_input(up.data)[None])[0])
            hits["naive"] += up.label is not None and naive_digit == up.label
            t0 = time.perf_counter()
            x = project_input(up.data)
            preprocess_ms.append((time.perf_counter() - t0) * 1000)
            for name, model in (("this", current), ("previous", previous)):
                if model is None:
                    continue
                if x is None:
                    hits[name] += up.label is None
                    continue
                proba = model.predict_proba(x)
                hits[name] += up.label is not None and int(proba.argmax()) == up.label
                if name == "this" and up.label is not None:
                    top_probs.append(float(proba.max()))
                    top_correct.append(int(proba.argmax()) == up.label)
        rows[kind] = {c: hits[c] / len(uploads) for c in columns}
        print(f"  {kind}: " + ", ".join(f"{c} {rows[kind][c]:.1%}" for c in columns), flush=True)

    def group(kinds: tuple[str, ...]) -> dict[str, float]:
        return {c: float(np.mean([rows[k][c] for k in kinds])) for c in columns}

    summary = {
        "all photo kinds": group(PHOTO_KINDS),
        "all drawing kinds": group(DRAWING_KINDS),
        "all odd modes": group(ODD_KINDS),
        "blank (refused)": group(BLANK_KINDS),
    }

    print()
    print(f"Accuracy, {args.per_kind} uploads per kind, seed {args.seed}")
    header = "| set | " + " | ".join(
        {"naive": "(a) naive seed", "this": "(b) this project", "previous": "(c) previous"}[c]
        for c in columns
    )
    print(header + " |")
    print("|" + " --- |" * (len(columns) + 1))
    for name, row in [*rows.items(), *summary.items()]:
        print(f"| {name} | " + " | ".join(f"{100 * row[c]:.1f}%" for c in columns) + " |")

    probs = np.array(top_probs)
    correct = np.array(top_correct)
    print()
    print("Low-confidence threshold candidates (MNIST test + every non-blank upload, model (b))")
    print("| threshold | flagged | accuracy of flagged | accuracy of the rest | errors caught |")
    print("| --- | --- | --- | --- | --- |")
    for t in (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7):
        low = probs < t
        acc_low = correct[low].mean() if low.any() else float("nan")
        acc_high = correct[~low].mean() if (~low).any() else float("nan")
        caught = (~correct & low).sum() / max(1, (~correct).sum())
        print(f"| {t:.2f} | {low.mean():.1%} | {acc_low:.1%} | {acc_high:.2%} | {caught:.0%} |")
    facts["preprocess_ms_median"] = round(float(np.median(preprocess_ms)), 2)
    print()
    for key, value in facts.items():
        print(f"{key}: {value}")
    if args.json is not None:
        args.json.write_text(
            json.dumps({"rows": rows, "summary": summary, "facts": facts}, indent=2)
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
