"""Demo: staff correct 40 uploads of a kind MNIST lacks, the model is retrained, and new uploads of
that kind are read better, while MNIST test accuracy holds.

The kind: a zero written square with a slash through it (as on engineering forms and code
listings). MNIST has none; the forest reads them as 8.

Everything goes through the site's real paths in a throwaway project folder: `train_model` for the
baseline, `predictions.prediction_create` for uploads, `review.prediction_review` for staff
corrections, `retraining.retrain` for the candidate and the promotion gate.

    python benchmarks/retrain_demo.py                  # full MNIST, 100 trees (~10 min on 2 cores)
    python benchmarks/retrain_demo.py --limit 5000 --n-estimators 20   # a quick look
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from testkit.shapes import slashed_zero_png  # noqa: E402

KIND = "square slashed zero"
KIND_LABEL = 0


def mnist_photo_png(digit: np.ndarray, size: int = 280) -> bytes:
    """An MNIST test digit as dark ink on light paper, scaled up like a scan (a control set)."""
    ink = Image.fromarray(255 - digit, mode="L").resize((size, size), Image.Resampling.BICUBIC)
    buffer = io.BytesIO()
    ink.convert("RGB").save(buffer, format="PNG")
    return buffer.getvalue()


def _setup_django(folder: Path) -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "digitsite.settings",
            "DJANGO_DEBUG": "true",
            "DIGITS_VAR_DIR": str(folder),
            "DATABASE_URL": f"sqlite:///{folder / 'demo.sqlite3'}",
            "MEDIA_ROOT": str(folder / "media"),
            "MODEL_DIR": str(folder / "models"),
            "MODEL_REFRESH_SECONDS": "0",
            "TASKS_BACKEND": "django_tasks.backends.immediate.ImmediateBackend",
            "LOG_LEVEL": "WARNING",
        }
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-estimators", type=int, default=100)
    parser.add_argument("--limit", type=int, default=None, help="MNIST train images (default all)")
    parser.add_argument("--corrections", type=int, default=40)
    parser.add_argument("--new", type=int, default=100, help="new uploads of the kind to score")
    parser.add_argument("--control", type=int, default=200, help="MNIST-test photo uploads")
    parser.add_argument("--keep", action="store_true", help="keep the throwaway project folder")
    args = parser.parse_args(argv)

    folder = Path(tempfile.mkdtemp(prefix="digits-retrain-demo-"))
    _setup_django(folder)

    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from ml.data import load_mnist
    from recognizer import predictions, retraining, review
    from recognizer.models import ModelVersion

    started = time.perf_counter()
    train_options = {"n_estimators": args.n_estimators, "verbosity": 0}
    if args.limit:
        train_options["limit"] = args.limit
    print(f"Training the baseline ({args.n_estimators} trees)...", file=sys.stderr)
    call_command("train_model", **train_options)
    baseline = ModelVersion.objects.active()

    users = get_user_model().objects
    owner = users.create_user(username="demo-owner", password="demo-pass-123")
    staff = users.create_user(username="demo-staff", password="demo-pass-123", is_staff=True)

    def upload_all(pngs: list[bytes]) -> list:
        return [predictions.prediction_create(user=owner, image_file=io.BytesIO(p)) for p in pngs]

    def read_rate(predictions: list, labels: list[int]) -> float:
        return float(np.mean([p.digit == y for p, y in zip(predictions, labels, strict=True)]))

    corrections_png = [slashed_zero_png(np.random.default_rng(1000 + i)) for i in range(40)]
    new_png = [slashed_zero_png(np.random.default_rng(50_000 + i)) for i in range(args.new)]
    test_x, test_y = load_mnist("test", limit=args.control)
    control_png = [mnist_photo_png(x) for x in test_x]
    control_labels = [int(y) for y in test_y]

    corrections = upload_all(corrections_png[: args.corrections])
    before_corrections = read_rate(corrections, [KIND_LABEL] * len(corrections))
    before_new = read_rate(upload_all(new_png), [KIND_LABEL] * len(new_png))
    before_control = read_rate(upload_all(control_png), control_labels)
    wrong_as = np.bincount([p.digit for p in corrections], minlength=10).tolist()

    for prediction in corrections:
        review.prediction_review(prediction=prediction, label=KIND_LABEL, reviewer=staff)

    print("Retraining with the corrections...", file=sys.stderr)
    outcome = retraining.retrain(
        mnist_limit=args.limit or 0, n_estimators=args.n_estimators, test_limit=0
    )
    active = ModelVersion.objects.active()
    after_new = read_rate(upload_all(new_png), [KIND_LABEL] * len(new_png))
    after_control = read_rate(upload_all(control_png), control_labels)
    candidate = outcome.candidate
    heldout = candidate.heldout_metrics
    elapsed = time.perf_counter() - started

    rows = [
        ("model version", baseline.version, candidate.version),
        (
            "MNIST test accuracy (10,000)",
            f"{candidate.metrics['active_accuracy_same_test']:.2%}",
            f"{candidate.metrics['accuracy']:.2%}",
        ),
        (
            f"held-out corrected uploads ({heldout['n']})",
            f"{heldout['active_accuracy']:.0%}" if heldout["active_accuracy"] is not None else "—",
            f"{heldout['accuracy']:.0%}" if heldout["accuracy"] is not None else "—",
        ),
        (f"NEW uploads of the kind ({len(new_png)})", f"{before_new:.0%}", f"{after_new:.0%}"),
        (
            f"MNIST-test photo uploads ({len(control_png)})",
            f"{before_control:.1%}",
            f"{after_control:.1%}",
        ),
    ]
    print(f"\n## Retraining demo, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n")
    print(
        f"Kind: {KIND}. {len(corrections)} uploads corrected by staff; the baseline read "
        f"{before_corrections:.0%} of them right (predicted digits: {wrong_as}). "
        f"Trained on {candidate.training_data['reviewed_uploads']} of them "
        f"(x{candidate.training_data['augmented_copies']} augmented copies), "
        f"{heldout['n']} held out. {args.n_estimators} trees, "
        f"{candidate.training_data['mnist']} MNIST train images.\n"
    )
    print("| | before (baseline) | after (retrained) |")
    print("| --- | --- | --- |")
    for name, before, after in rows:
        print(f"| {name} | {before} | {after} |")
    print(
        f"\nPromoted: {outcome.promoted} ({outcome.reason}) Active now: {active.version}. "
        f"Whole demo: {elapsed:.0f} s."
    )
    if args.keep:
        print(f"Project folder kept: {folder}", file=sys.stderr)
    else:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
