"""Retraining from reviewed corrections, the promotion gate, and the dataset export.

Every write of a TrainingRun or of a retrained ModelVersion goes through here (activation itself
goes through `services.model_version_activate`).
"""

import csv
import hashlib
import io
import logging
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet
from django.utils import timezone
from scipy import ndimage

from ml.data import load_mnist
from ml.evaluate import evaluate
from ml.predict import Model, ModelLoadError, load_model
from ml.train import DEFAULT_N_ESTIMATORS, save_artifact, train_model

from . import registry, services
from .models import ModelVersion, Prediction, TrainingRun

logger = logging.getLogger(__name__)

# One reviewed upload in HELDOUT_MODULUS is kept out of training to score candidates honestly.
HELDOUT_MODULUS = 5
# A candidate may lose at most this much MNIST test accuracy (0.3 points) against the active model.
MNIST_TOLERANCE = 0.003
# Augmented copies are shifted by up to this many pixels and rotated by up to this many degrees.
MAX_SHIFT = 2
MAX_ROTATION = 12.0

Progress = Callable[[int, str], None]


class RetrainRefused(Exception):
    """A retraining cannot start (one is already queued or running)."""


def is_heldout(prediction_id: int) -> bool:
    """Stable across runs and processes, so a reviewed upload is never trained on and tested on."""
    digest = hashlib.sha256(str(prediction_id).encode()).hexdigest()
    return int(digest, 16) % HELDOUT_MODULUS == 0


def split_reviewed(
    predictions: QuerySet[Prediction] | None = None,
) -> tuple[list[Prediction], list[Prediction]]:
    """(training, held-out) among reviewed, non-excluded uploads with a stored model input."""
    if predictions is None:
        predictions = Prediction.objects.training_usable()
    rows = list(predictions.order_by("id").only("id", "true_label", "model_input"))
    train = [p for p in rows if not is_heldout(p.pk)]
    heldout = [p for p in rows if is_heldout(p.pk)]
    return train, heldout


def model_inputs(predictions: list[Prediction]) -> tuple[np.ndarray, np.ndarray]:
    """The stored 28x28 inputs (exactly `to_mnist` output, as uint8) and the reviewed labels."""
    images = np.zeros((len(predictions), 28, 28), dtype=np.uint8)
    labels = np.zeros(len(predictions), dtype=np.int64)
    for i, prediction in enumerate(predictions):
        images[i] = np.frombuffer(bytes(prediction.model_input), dtype=np.uint8).reshape(28, 28)
        labels[i] = prediction.true_label
    return images, labels


def augment(images: np.ndarray, copies: int, *, seed: int = 0) -> np.ndarray:
    """`copies` randomly shifted and rotated versions of each (28, 28) uint8 image, in order."""
    rng = np.random.default_rng(seed)
    out = np.empty((len(images) * copies, 28, 28), dtype=np.uint8)
    k = 0
    for image in images.astype(np.float32):
        for _ in range(copies):
            angle = rng.uniform(-MAX_ROTATION, MAX_ROTATION)
            dy, dx = rng.integers(-MAX_SHIFT, MAX_SHIFT + 1, size=2)
            moved = ndimage.rotate(image, angle, reshape=False, order=1, mode="constant")
            moved = ndimage.shift(moved, (dy, dx), order=0, mode="constant")
            out[k] = np.clip(moved, 0, 255).astype(np.uint8)
            k += 1
    return out


def promotion_gate(
    *,
    candidate_mnist: float,
    active_mnist: float | None,
    candidate_heldout: float | None,
    active_heldout: float | None,
) -> tuple[bool, str]:
    """Whether a candidate may replace the active model, and why (a sentence for staff)."""
    if active_mnist is None:
        return True, "No usable active model to compare with."
    if candidate_mnist < active_mnist - MNIST_TOLERANCE - 1e-12:
        return False, (
            f"MNIST test accuracy {candidate_mnist:.2%} is more than 0.3 points below the active "
            f"model's {active_mnist:.2%}."
        )
    if candidate_heldout is not None and active_heldout is not None:
        if candidate_heldout < active_heldout:
            return False, (
                f"Accuracy on the held-out reviewed uploads {candidate_heldout:.2%} is below the "
                f"active model's {active_heldout:.2%}."
            )
        heldout = f"held-out reviewed {candidate_heldout:.2%} vs {active_heldout:.2%}"
    else:
        heldout = "no held-out reviewed uploads yet"
    return True, (
        f"Passed the gate: MNIST test {candidate_mnist:.2%} vs {active_mnist:.2%}; {heldout}."
    )


@dataclass
class RetrainOutcome:
    candidate: ModelVersion
    promoted: bool
    reason: str


def _load_active() -> tuple[ModelVersion | None, Model | None]:
    active = ModelVersion.objects.active()
    if active is None:
        return None, None
    try:
        model = load_model(registry.artifact_file(active), expected_sha256=active.sha256)
    except ModelLoadError as exc:
        logger.warning("retrain_active_unusable version=%s reason=%s", active.version, exc)
        return active, None
    return active, model


def _new_version_name() -> str:
    version = datetime.now(UTC).strftime("%Y%m%d-%H%M%S") + "-retrained"
    while ModelVersion.objects.filter(version=version).exists():
        version += "-b"
    return version


def _heldout_score(model: Model, images: np.ndarray, labels: np.ndarray) -> dict[str, Any] | None:
    if len(labels) == 0:
        return None
    return evaluate(model, images, labels)


def retrain(
    *,
    force: bool = False,
    mnist_limit: int | None = None,
    test_limit: int | None = None,
    copies: int | None = None,
    n_estimators: int | None = None,
    progress: Progress | None = None,
    seed: int = 0,
) -> RetrainOutcome:
    """Train a candidate on MNIST train plus reviewed corrections, score it, and promote it if
    it passes the gate (or if `force`). The held-out slice is scored for both models here, so
    the comparison is on the same items.
    """

    def report(percent: int, stage: str) -> None:
        if progress is not None:
            progress(percent, stage)

    limit = mnist_limit if mnist_limit is not None else settings.RETRAIN_MNIST_LIMIT
    copies = copies if copies is not None else settings.RETRAIN_CORRECTION_COPIES
    if test_limit is None:
        test_limit = settings.RETRAIN_MNIST_TEST_LIMIT
    active, active_model = _load_active()
    params = dict(active.params) if active is not None else {}
    n_estimators = n_estimators or int(params.get("n_estimators") or DEFAULT_N_ESTIMATORS)
    kind = params.get("kind", "rf")
    max_leaf_nodes = params.get("max_leaf_nodes")

    report(2, "Loading MNIST and the reviewed uploads")
    mnist_x, mnist_y = load_mnist("train", data_dir=settings.MNIST_DIR, limit=limit or None)
    test_x, test_y = load_mnist("test", data_dir=settings.MNIST_DIR, limit=test_limit or None)
    train_rows, heldout_rows = split_reviewed()
    corr_x, corr_y = model_inputs(train_rows)
    held_x, held_y = model_inputs(heldout_rows)

    parts_x = [mnist_x, corr_x]
    parts_y = [mnist_y, corr_y]
    if copies > 0 and len(corr_y):
        parts_x.append(augment(corr_x, copies, seed=seed))
        parts_y.append(np.repeat(corr_y, copies))
    X = np.concatenate(parts_x)
    y = np.concatenate(parts_y)

    report(5, f"Training on {len(mnist_y)} MNIST images and {len(corr_y)} corrections")

    def tree_progress(done: int, total: int) -> None:
        report(5 + int(75 * done / max(total, 1)), f"Training: {done}/{total} trees")

    result = train_model(
        X,
        y,
        n_estimators=n_estimators,
        max_leaf_nodes=max_leaf_nodes,
        kind=kind,
        random_state=seed,
        progress=tree_progress,
    )

    report(82, "Evaluating on the MNIST test set and the held-out reviewed uploads")
    metrics = {**result.metrics, **evaluate(result.model, test_x, test_y)}
    candidate_heldout = _heldout_score(result.model, held_x, held_y)
    active_mnist = active_heldout = None
    if active_model is not None:
        active_mnist = evaluate(active_model, test_x, test_y)["accuracy"]
        scored = _heldout_score(active_model, held_x, held_y)
        active_heldout = scored["accuracy"] if scored else None
    metrics["active_accuracy_same_test"] = active_mnist

    ok, reason = promotion_gate(
        candidate_mnist=metrics["accuracy"],
        active_mnist=active_mnist,
        candidate_heldout=candidate_heldout["accuracy"] if candidate_heldout else None,
        active_heldout=active_heldout,
    )

    report(95, "Saving the candidate")
    version = _new_version_name()
    artifact = save_artifact(
        result.model,
        Path(settings.MODEL_DIR) / version,
        version=version,
        params=result.params,
        metrics=metrics,
        data_source=(
            f"MNIST train ({len(mnist_y)}) + {len(corr_y)} reviewed uploads "
            f"x{copies} augmented copies"
        ),
        train_seconds=result.train_seconds,
    )
    heldout_metrics = {
        **(candidate_heldout or {"accuracy": None, "n": 0}),
        "ids": [p.pk for p in heldout_rows],
        "active_version": active.version if active else None,
        "active_accuracy": active_heldout,
    }
    training_data = {
        "mnist": len(mnist_y),
        "mnist_test": len(test_y),
        "reviewed_uploads": len(corr_y),
        "augmented_copies": int(copies),
        "correction_ids": [p.pk for p in train_rows],
        "heldout_ids": [p.pk for p in heldout_rows],
    }
    candidate = services.model_version_register(
        version=version,
        artifact_path=str(artifact.path.relative_to(Path(settings.MODEL_DIR))),
        sha256=artifact.sha256,
        params={**result.params, "train_seconds": round(result.train_seconds, 1)},
        metrics=metrics,
        activate=False,
        parent=active,
        training_data=training_data,
        heldout_metrics=heldout_metrics,
        status_note=f"Candidate, not promoted: {reason}" if not ok else reason,
    )
    promoted = ok or force
    if promoted:
        note = reason if ok else f"Promoted with --force despite the gate: {reason}"
        services.model_version_activate(model_version=candidate, note=note)
        reason = note
    report(100, "Done")
    logger.info(
        "retrain_done version=%s promoted=%s accuracy=%.4f reason=%s",
        version,
        promoted,
        metrics["accuracy"],
        reason,
    )
    return RetrainOutcome(candidate=candidate, promoted=promoted, reason=reason)


def model_version_promote(
    *, model_version: ModelVersion, user: AbstractBaseUser | None = None
) -> ModelVersion:
    """Staff promote a candidate by hand (the gate is advisory here: they know better)."""
    who = f" by {user.get_username()}" if user is not None else ""
    return services.model_version_activate(
        model_version=model_version, note=f"Promoted{who} on {timezone.now():%Y-%m-%d %H:%M} UTC."
    )


def model_version_rollback(
    *, model_version: ModelVersion, user: AbstractBaseUser | None = None
) -> ModelVersion:
    """Make an earlier version active again; the current one is retired."""
    current = ModelVersion.objects.active()
    who = f" by {user.get_username()}" if user is not None else ""
    previous = f" from {current.version}" if current is not None else ""
    return services.model_version_activate(
        model_version=model_version,
        note=f"Rolled back{previous}{who} on {timezone.now():%Y-%m-%d %H:%M} UTC.",
    )


# --- Training runs (what the admin shows while the worker trains) ---------------------------


def training_run_create(
    *, requested_by: AbstractBaseUser | None = None, force: bool = False
) -> TrainingRun:
    recent = timezone.now() - timedelta(hours=2)
    busy = TrainingRun.objects.filter(
        state__in=[TrainingRun.State.QUEUED, TrainingRun.State.RUNNING], created_at__gte=recent
    ).first()
    if busy is not None:
        raise RetrainRefused(f"Training run #{busy.pk} is already {busy.get_state_display()}.")
    return TrainingRun.objects.create(requested_by=requested_by, force=force)


def training_run_enqueue(
    *, requested_by: AbstractBaseUser | None = None, force: bool = False
) -> TrainingRun:
    """Queue a retraining for the background worker (`manage.py db_worker`)."""
    from .tasks import retrain_task

    run = training_run_create(requested_by=requested_by, force=force)
    result = retrain_task.enqueue(training_run_id=run.pk)
    TrainingRun.objects.filter(pk=run.pk, task_id="").update(task_id=str(result.id))
    run.refresh_from_db()
    return run


def training_run_execute(
    *, run: TrainingRun, on_progress: Progress | None = None, **retrain_options: Any
) -> TrainingRun:
    """Run a queued retraining, keeping its state and progress up to date for the admin."""
    run.state = TrainingRun.State.RUNNING
    run.started_at = timezone.now()
    run.progress = 0
    run.save(update_fields=["state", "started_at", "progress"])
    last = {"percent": -1}

    def progress(percent: int, stage: str) -> None:
        if percent == last["percent"]:
            return
        last["percent"] = percent
        TrainingRun.objects.filter(pk=run.pk).update(progress=percent, stage=stage[:200])
        if on_progress is not None:
            on_progress(percent, stage)

    try:
        outcome = retrain(force=run.force, progress=progress, **retrain_options)
    except Exception as exc:
        logger.exception("retrain_failed run=%s", run.pk)
        run.state = TrainingRun.State.FAILED
        run.message = f"Retraining failed: {type(exc).__name__}: {exc}"
        run.finished_at = timezone.now()
        run.save(update_fields=["state", "message", "finished_at"])
        raise
    run.refresh_from_db(fields=["progress", "stage"])
    run.state = TrainingRun.State.SUCCEEDED
    run.candidate = outcome.candidate
    run.promoted = outcome.promoted
    verdict = "is now active" if outcome.promoted else "stays a candidate"
    run.message = f"{outcome.candidate.version} {verdict}: {outcome.reason}"
    run.progress = 100
    run.finished_at = timezone.now()
    run.save(update_fields=["state", "candidate", "promoted", "message", "progress", "finished_at"])
    return run


# --- Dataset export -------------------------------------------------------------------------


@dataclass
class ExportSummary:
    images: int
    duplicates: int


def dataset_export(*, out: BinaryIO | Path, predictions: QuerySet | None = None) -> ExportSummary:
    """Write a zip of the reviewed, non-excluded images (`images/<sha256>.png`) and `labels.csv`
    (sha256, label, reviewer, reviewed_at). An image uploaded twice is written once, with the
    label of its latest review.
    """
    if predictions is None:
        predictions = Prediction.objects.all()
    rows = (
        predictions.filter(true_label__isnull=False, excluded_from_training=False)
        .select_related("reviewed_by")
        .order_by("-reviewed_at", "-id")
    )
    seen: set[str] = set()
    duplicates = 0
    table = io.StringIO()
    writer = csv.writer(table)
    writer.writerow(["sha256", "label", "reviewer", "reviewed_at", "file"])
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for prediction in rows.iterator(chunk_size=200):
            try:
                with prediction.image.open("rb") as fh:
                    data = fh.read()
            except (FileNotFoundError, ValueError):
                logger.warning("export_missing_image prediction=%s", prediction.pk)
                continue
            digest = hashlib.sha256(data).hexdigest()
            if digest in seen:
                duplicates += 1
                continue
            seen.add(digest)
            name = f"images/{digest}.png"
            archive.writestr(name, data)
            reviewer = prediction.reviewed_by.get_username() if prediction.reviewed_by else ""
            reviewed_at = prediction.reviewed_at.isoformat() if prediction.reviewed_at else ""
            writer.writerow([digest, prediction.true_label, reviewer, reviewed_at, name])
        archive.writestr("labels.csv", table.getvalue())
    return ExportSummary(images=len(seen), duplicates=duplicates)
