"""Accuracy on MNIST and on realistic uploads, one column per model kind.

Usage::

    python benchmarks/accuracy.py [--kinds rf,svm,ensemble] [--per-kind N] [--models DIR]
                                  [--naive] [--model PREVIOUS_DIR] [--seed S] [--json FILE]

Columns: one per kind in ``--kinds``, each this project's pipeline (``load_image`` +
``to_mnist``) and a model of that kind trained in this run on all 60,000 MNIST training images
with ``ml.train.train_and_save`` (or loaded from ``--models DIR/<kind>`` when a previous run
saved it there); ``--naive`` adds the seed's naive pipeline (grey, resize to 28x28, invert,
RandomForest(100) on raw pixels); ``--model`` adds a previous model directory. Rows: MNIST
test, then each kind of upload from ``testkit/uploads.py``. Blank kinds count as correct when
the image is refused.

Per kind the script also prints training time, artifact size, load time, single-image
inference time, the expected calibration error on MNIST test, and a table of low-confidence
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
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ml.crop import to_mnist
from ml.data import load_mnist
from ml.decode import ImageRejected, load_image
from ml.evaluate import evaluate
from ml.predict import KINDS, Model, artifact_file, load_folder
from ml.train import train_and_save
from testkit.uploads import BLANK_KINDS, DRAWING_KINDS, ODD_KINDS, PHOTO_KINDS, generate
from testkit.uploads import KINDS as UPLOAD_KINDS

THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.96, 0.97, 0.98, 0.99)


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


def _median_ms(call, items: np.ndarray) -> float:
    # One BLAS thread, as gunicorn.conf.py serves: a second one waits for a busy core.
    with threadpool_limits(1):
        for item in items[:20]:
            call(item)
        seconds = []
        for item in items:
            start = time.perf_counter()
            call(item)
            seconds.append(time.perf_counter() - start)
    return float(np.median(seconds) * 1e3)


def _model_of_kind(kind: str, models_dir: Path, X, y, Xt, yt) -> tuple[Model, dict]:
    """Load ``models_dir/kind`` if a previous run saved it, else train and save it there."""
    out = models_dir / kind
    if not (out / "metadata.json").is_file():
        print(f"training {kind} on {len(y)} images...", flush=True)
        train_and_save(
            X,
            y,
            kind=kind,
            out_dir=out,
            version=f"bench-{kind}",
            data_source=f"MNIST train ({len(y)})",
            test=(Xt, yt),
        )
    started = time.perf_counter()
    model = load_folder(out)
    load_seconds = time.perf_counter() - started
    meta = model.metadata
    facts = {
        "train_seconds": round(float(meta["train_seconds"]), 1),
        "artifact_mb": round(artifact_file(out).stat().st_size / 1e6, 1),
        "load_seconds": round(load_seconds, 3),
        "params": meta["params"],
        "threshold": model.low_confidence_threshold,
    }
    print(f"{kind}: {facts}", flush=True)
    return model, facts


def _threshold_rows(probs: np.ndarray, correct: np.ndarray) -> list[str]:
    rows = []
    for t in THRESHOLDS:
        low = probs < t
        acc_low = correct[low].mean() if low.any() else float("nan")
        acc_high = correct[~low].mean() if (~low).any() else float("nan")
        caught = (~correct & low).sum() / max(1, (~correct).sum())
        rows.append(
            f"| {t:.2f} | {low.mean():.1%} | {acc_low:.1%} | {acc_high:.2%} | {caught:.0%} |"
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kinds", default="rf,svm,ensemble", help="comma-separated model kinds")
    parser.add_argument("--per-kind", type=int, default=100)
    parser.add_argument("--models", type=Path, default=None, help="save/reuse models here")
    parser.add_argument("--naive", action="store_true", help="add the seed's naive pipeline")
    parser.add_argument("--model", type=Path, default=None, help="previous model directory")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--json", type=Path, default=None, help="also write results here")
    parser.add_argument("--limit", type=int, default=None, help="train on N images (smoke runs)")
    args = parser.parse_args(argv)
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    unknown = set(kinds) - set(KINDS)
    if unknown:
        parser.error(f"unknown kinds {sorted(unknown)}; choose from {', '.join(KINDS)}")
    models_dir = args.models or Path(tempfile.mkdtemp(prefix="digits-bench-"))

    X, y = load_mnist("train", limit=args.limit)
    Xt, yt = load_mnist("test")
    facts: dict[str, object] = {
        "machine": f"{platform.machine()}, {platform.system()}, {os.cpu_count()} cores",
        "python": platform.python_version(),
        "load_average_at_start": [round(v, 2) for v in os.getloadavg()],
    }

    models: dict[str, Model] = {}
    kind_facts: dict[str, dict] = {}
    for kind in kinds:
        models[kind], kind_facts[kind] = _model_of_kind(kind, models_dir, X, y, Xt, yt)
    if args.model is not None:
        models["previous"] = load_folder(args.model)
    naive = None
    if args.naive:
        started = time.perf_counter()
        naive = RandomForestClassifier(n_estimators=100, n_jobs=-1, random_state=0)
        naive.fit(X.reshape(len(X), -1).astype(np.float32) / 255, y)
        naive.set_params(n_jobs=1)
        facts["naive_train_seconds"] = round(time.perf_counter() - started, 1)

    columns = (["naive"] if naive is not None else []) + list(models)
    rows: dict[str, dict[str, float]] = {"mnist_test": {}}
    top: dict[str, tuple[list[float], list[bool]]] = {name: ([], []) for name in models}
    if naive is not None:
        naive_pred = naive.predict(Xt.reshape(len(Xt), -1) / 255)
        rows["mnist_test"]["naive"] = float((naive_pred == yt).mean())
    timing_images = Xt[np.random.default_rng(0).choice(len(Xt), 300, replace=False)]
    for name, model in models.items():
        report = evaluate(model, Xt, yt)
        rows["mnist_test"][name] = report["accuracy"]
        proba = model.predict_proba(Xt)
        top[name][0].extend(proba.max(axis=1).tolist())
        top[name][1].extend((proba.argmax(axis=1) == yt).tolist())
        if name in kind_facts:
            features = model.featurize(timing_images)
            kind_facts[name] |= {
                "mnist_accuracy": report["accuracy"],
                "ece": round(report["calibration"]["ece"], 4),
                "calibration_bins": report["calibration"]["bins"],
                "classifier_ms": round(
                    _median_ms(lambda f, m=model: m.predict_proba_features(f[None]), features), 3
                ),
                "predict_ms": round(_median_ms(model.predict_proba, timing_images), 3),
            }

    preprocess_ms: list[float] = []
    for kind in UPLOAD_KINDS:
        uploads = generate(kind, args.per_kind, seed=args.seed)
        hits = dict.fromkeys(columns, 0)
        for up in uploads:
            if naive is not None:
                naive_digit = int(naive.predict(naive_input(up.data)[None])[0])
                hits["naive"] += up.label is not None and naive_digit == up.label
            t0 = time.perf_counter()
            x = project_input(up.data)
            preprocess_ms.append((time.perf_counter() - t0) * 1000)
            for name, model in models.items():
                if x is None:
                    hits[name] += up.label is None
                    continue
                proba = model.predict_proba(x)
                hits[name] += up.label is not None and int(proba.argmax()) == up.label
                if up.label is not None:
                    top[name][0].append(float(proba.max()))
                    top[name][1].append(int(proba.argmax()) == up.label)
        rows[kind] = {c: hits[c] / len(uploads) for c in columns}
        print(f"  {kind}: " + ", ".join(f"{c} {rows[kind][c]:.1%}" for c in columns), flush=True)

    def group(group_kinds: tuple[str, ...]) -> dict[str, float]:
        return {c: float(np.mean([rows[k][c] for k in group_kinds])) for c in columns}

    summary = {
        "all photo kinds": group(PHOTO_KINDS),
        "all drawing kinds": group(DRAWING_KINDS),
        "all odd modes": group(ODD_KINDS),
        "blank (refused)": group(BLANK_KINDS),
    }

    print()
    print(f"Accuracy, {args.per_kind} uploads per kind, seed {args.seed}")
    print("| set | " + " | ".join(columns) + " |")
    print("|" + " --- |" * (len(columns) + 1))
    for name, row in [*rows.items(), *summary.items()]:
        print(f"| {name} | " + " | ".join(f"{100 * row[c]:.1f}%" for c in columns) + " |")

    print()
    print(
        "| kind | MNIST test | ECE | training | artifact | load | classifier, 1 image "
        "| predict_proba, 1 image | threshold |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for kind, f in kind_facts.items():
        print(
            f"| {kind} | {100 * f['mnist_accuracy']:.2f}% | {100 * f['ece']:.2f}% | "
            f"{f['train_seconds']:.0f} s | {f['artifact_mb']:.1f} MB | {f['load_seconds']:.2f} s | "
            f"{f['classifier_ms']:.3f} ms | {f['predict_ms']:.3f} ms | {f['threshold']} |"
        )

    for name, (probs, correct) in top.items():
        print()
        print(f"Low-confidence threshold candidates for {name} (MNIST test + non-blank uploads)")
        print(
            "| threshold | flagged | accuracy of flagged | accuracy of the rest | errors caught |"
        )
        print("| --- | --- | --- | --- | --- |")
        for line in _threshold_rows(np.array(probs), np.array(correct)):
            print(line)
    facts["preprocess_ms_median"] = round(float(np.median(preprocess_ms)), 2)
    facts["load_average_at_end"] = [round(v, 2) for v in os.getloadavg()]
    facts["models_dir"] = str(models_dir)
    print()
    for key, value in facts.items():
        print(f"{key}: {value}")
    if args.json is not None:
        args.json.write_text(
            json.dumps(
                {"rows": rows, "summary": summary, "facts": facts, "kinds": kind_facts}, indent=2
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
