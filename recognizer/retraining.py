"""Retraining from reviewed corrections: the data, the promotion gate, and TrainingRun state.

Every write of a TrainingRun goes through here; the candidate is made and registered by
`model_versions.model_version_train`, like any other version.
"""

import hashlib
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from scipy import ndimage

from ml.data import load_mnist
from ml.evaluate import evaluate
from ml.predict import FOREST_KINDS, Model
from ml.train import DEFAULT_KIND, StageProgress

from . import model_versions, registry
from .models import Digit, ModelVersion, TrainingRun

logger = logging.getLogger(__name__)

# One reviewed upload in HELDOUT_MODULUS is kept out of training to score candidates honestly.
HELDOUT_MODULUS = 5
# A candidate's MNIST test accuracy may fall this many binomial standard errors below the active
# model's and still count as not worse (two: about 95% of chance differences).
NOISE_STANDARD_ERRORS = 2.0
# Augmented copies are shifted by up to this many pixels and rotated by up to this many degrees.
MAX_SHIFT = 2
MAX_ROTATION = 12.0

Progress = Callable[[int, str], None]


class RetrainRefused(Exception):
    """A retraining cannot start (one is already queued or running)."""


def is_heldout(prediction_id: int) -> bool:
    """Stable across runs and processes, so a reviewed digit is never trained on and tested on.
    By upload, not by digit: a number's digits share a writer, and a candidate trained on some
    of them would be tested on their siblings. One-digit uploads keep the split they had."""
    digest = hashlib.sha256(str(prediction_id).encode()).hexdigest()
    return int(digest, 16) % HELDOUT_MODULUS == 0


def split_reviewed(
    digits: QuerySet[Digit] | None = None,
) -> tuple[list[Digit], list[Digit]]:
    """(training, held-out) among the reviewed digits of uploads not excluded."""
    if digits is None:
        digits = Digit.objects.training_usable()
    rows = list(
        digits.order_by("prediction_id", "position").only(
            "id", "prediction_id", "position", "true_label", "model_input"
        )
    )
    train = [d for d in rows if not is_heldout(d.prediction_id)]
    heldout = [d for d in rows if is_heldout(d.prediction_id)]
    return train, heldout


def model_inputs(digits: list[Digit]) -> tuple[np.ndarray, np.ndarray]:
    """The stored 28x28 inputs (exactly what the model saw, as uint8) and the reviewed labels."""
    images = np.zeros((len(digits), 28, 28), dtype=np.uint8)
    labels = np.zeros(len(digits), dtype=np.int64)
    for i, digit in enumerate(digits):
        images[i] = digit.model_input_array
        labels[i] = digit.true_label
    return images, labels


def _upload_ids(digits: list[Digit]) -> list[int]:
    return sorted({d.prediction_id for d in digits})


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


def mnist_noise(accuracy: float, n: int) -> float:
    """How far two models' MNIST test accuracies may differ by chance: two binomial standard
    errors of ``accuracy`` on ``n`` test digits (0.17 points at 99.3% on the 10,000)."""
    if n <= 0:
        return 1.0
    return NOISE_STANDARD_ERRORS * math.sqrt(accuracy * (1 - accuracy) / n)


def promotion_gate(
    *,
    candidate_mnist: float,
    active_mnist: float | None,
    mnist_n: int,
    candidate_heldout: float | None,
    active_heldout: float | None,
    heldout_n: int,
) -> tuple[bool, str]:
    """Whether a candidate may replace the active model on its own, and why (a sentence for
    staff). It needs evidence: at least PROMOTION_MIN_HELDOUT held-out reviewed digits, a
    better score than the active model on them, and MNIST test accuracy not worse beyond noise.
    """
    if active_mnist is None:
        return True, "No usable active model to compare with."
    noise = mnist_noise(active_mnist, mnist_n)
    if candidate_mnist < active_mnist - noise - 1e-12:
        return False, (
            f"MNIST test accuracy {candidate_mnist:.2%} is below the active model's "
            f"{active_mnist:.2%} by more than the noise ({noise:.2%}: two standard errors on "
            f"{mnist_n} test digits)."
        )
    needed = settings.PROMOTION_MIN_HELDOUT
    if candidate_heldout is None or active_heldout is None or heldout_n < needed:
        return False, (
            f"Not enough evidence: scored on {heldout_n} held-out reviewed digits, and at least "
            f"{needed} are needed to promote on its own (PROMOTION_MIN_HELDOUT). Staff can "
            "promote it by hand."
        )
    if candidate_heldout <= active_heldout:
        return False, (
            f"On the {heldout_n} held-out reviewed digits it scores {candidate_heldout:.2%}, "
            f"not better than the active model's {active_heldout:.2%}."
        )
    return True, (
        f"Passed the gate: {candidate_heldout:.2%} vs {active_heldout:.2%} on {heldout_n} "
        f"held-out reviewed digits; MNIST test {candidate_mnist:.2%} vs {active_mnist:.2%} "
        f"(noise {noise:.2%})."
    )


@dataclass
class RetrainOutcome:
    candidate: ModelVersion
    promoted: bool
    reason: str


class ActiveModelUnusable(Exception):
    """A model is active but cannot be loaded, so no candidate can be compared with it."""


def _load_active() -> tuple[ModelVersion | None, Model | None]:
    active = ModelVersion.objects.active()
    if active is None:
        return None, None
    try:
        return active, registry.load_version(active)
    except registry.ModelUnavailable as exc:
        logger.warning("retrain_active_unusable version=%s reason=%s", active.version, exc.detail)
        # Failing open here once promoted a 76% candidate over a 98.6% model that a transient
        # fault had made unreadable: without a comparison there is no promotion.
        raise ActiveModelUnusable(
            f"The active model {active.version} cannot be loaded, so the candidate cannot be "
            f"compared with it; nothing was promoted. {exc.detail}"
        ) from exc


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
    stage: StageProgress | None = None,
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
    active = ModelVersion.objects.active()
    try:
        active, active_model = _load_active()
    except ActiveModelUnusable:
        if not force:
            raise
        active_model = None
    # A retraining keeps the active model's kind and size (staff compare like with like), but a
    # starter model's small forest is not worth keeping.
    keeps = active is not None and not model_versions.is_starter(active)
    params = dict(active.params) if keeps else {}
    kind = active.kind if keeps else DEFAULT_KIND
    train_options = {
        "kind": kind,
        "n_estimators": n_estimators or params.get("n_estimators"),
        "max_leaf_nodes": params.get("max_leaf_nodes"),
        "random_state": seed,
    }

    report(2, "Loading MNIST and the reviewed uploads")
    mnist_x, mnist_y = load_mnist("train", data_dir=settings.MNIST_DIR, limit=limit or None)
    test_x, test_y = load_mnist("test", data_dir=settings.MNIST_DIR, limit=test_limit or None)
    train_rows, heldout_rows = split_reviewed()
    corr_x, corr_y = model_inputs(train_rows)
    held_x, held_y = model_inputs(heldout_rows)

    parts_x = [corr_x]
    parts_y = [corr_y]
    if copies > 0 and len(corr_y):
        parts_x.append(augment(corr_x, copies, seed=seed))
        parts_y.append(np.repeat(corr_y, copies))
    corrections = sum(len(part) for part in parts_y)
    if kind not in FOREST_KINDS:
        # An SVM's fit grows with the square of its rows: MNIST makes room for every correction
        # and its copies within the bound, so a retraining stays within minutes.
        room = max(settings.RETRAIN_SVM_MAX_ROWS - corrections, 0)
        if len(mnist_y) > room:
            keep = np.sort(np.random.default_rng(seed).permutation(len(mnist_y))[:room])
            mnist_x, mnist_y = mnist_x[keep], mnist_y[keep]
    X = np.concatenate([mnist_x, *parts_x])
    y = np.concatenate([mnist_y, *parts_y])

    report(5, f"Training on {len(mnist_y)} MNIST images and {len(corr_y)} reviewed digits")

    def tree_progress(done: int, total: int) -> None:
        report(5 + int(75 * done / max(total, 1)), "")

    trained = model_versions.model_version_train(
        images=X,
        labels=y,
        test_images=test_x,
        test_labels=test_y,
        train_options=train_options,
        data_source=(
            f"MNIST train ({len(mnist_y)}) + {len(corr_y)} reviewed digits "
            f"x{copies} augmented copies"
        ),
        version_suffix="-retrained",
        progress=tree_progress,
        stage=stage,
        parent=active,
        training_data={
            "mnist": len(mnist_y),
            "mnist_test": len(test_y),
            "reviewed_uploads": len(_upload_ids(train_rows)),
            "reviewed_digits": len(corr_y),
            "augmented_copies": int(copies),
            "correction_ids": _upload_ids(train_rows),
            "heldout_ids": _upload_ids(heldout_rows),
        },
    )
    candidate = trained.model_version
    metrics = trained.metrics

    report(85, "Scoring both models on the MNIST test set and the held-out reviewed uploads")
    candidate_heldout = _heldout_score(trained.model, held_x, held_y)
    active_mnist = active_heldout = None
    if active_model is not None:
        active_mnist = evaluate(active_model, test_x, test_y)["accuracy"]
        scored = _heldout_score(active_model, held_x, held_y)
        active_heldout = scored["accuracy"] if scored else None
    metrics["active_accuracy_same_test"] = active_mnist

    ok, reason = promotion_gate(
        candidate_mnist=metrics["accuracy"],
        active_mnist=active_mnist,
        mnist_n=len(test_y),
        candidate_heldout=candidate_heldout["accuracy"] if candidate_heldout else None,
        active_heldout=active_heldout,
        heldout_n=len(held_y),
    )
    candidate.metrics = metrics
    candidate.heldout_metrics = {
        **(candidate_heldout or {"accuracy": None, "n": 0}),
        "ids": _upload_ids(heldout_rows),
        "active_version": active.version if active else None,
        "active_accuracy": active_heldout,
    }
    candidate.status_note = reason if ok else f"Waiting for staff: {reason}"
    candidate.save(update_fields=["metrics", "heldout_metrics", "status_note"])

    promoted = ok or force
    if promoted:
        note = reason if ok else f"Promoted with --force despite the gate: {reason}"
        promoted, reason = _promote_unless_changed(candidate, compared_with=active, note=note)
    report(100, "Done")
    logger.info(
        "retrain_done version=%s promoted=%s accuracy=%.4f reason=%s",
        candidate.version,
        promoted,
        metrics["accuracy"],
        reason,
    )
    return RetrainOutcome(candidate=candidate, promoted=promoted, reason=reason)


def starter_replace(
    *,
    progress: Progress | None = None,
    stage: StageProgress | None = None,
    mnist_limit: int | None = None,
    test_limit: int | None = None,
) -> RetrainOutcome:
    """Train the default model on all of MNIST and make it active in place of the starter model
    (`make run` queues this after training the starter). No gate: it is the model the starter
    stands in for. If staff activated another version meanwhile, it stays a candidate."""
    starter = ModelVersion.objects.active()
    if not model_versions.is_starter(starter):
        starter = None
    images, labels = load_mnist("train", data_dir=settings.MNIST_DIR, limit=mnist_limit)
    test_images, test_labels = load_mnist("test", data_dir=settings.MNIST_DIR, limit=test_limit)

    def percent(done: int, total: int) -> None:
        if progress is not None:
            progress(min(99, done * 100 // max(total, 1)), "")

    trained = model_versions.model_version_train(
        images=images,
        labels=labels,
        test_images=test_images,
        test_labels=test_labels,
        train_options={"kind": DEFAULT_KIND},
        data_source=f"MNIST IDX files ({len(labels)} train, {len(test_labels)} test)",
        progress=percent,
        stage=stage,
        parent=starter,
        training_data={"mnist": len(labels), "mnist_test": len(test_labels)},
    )
    candidate = trained.model_version
    if starter is None:
        reason = (
            "A model other than a starter is active: promote this one by hand if it should serve."
        )
        candidate.status_note = reason
        candidate.save(update_fields=["status_note"])
        return RetrainOutcome(candidate=candidate, promoted=False, reason=reason)
    note = (
        f"The default model, trained in the background; it replaced the starter {starter.version}."
    )
    promoted, reason = _promote_unless_changed(candidate, compared_with=starter, note=note)
    return RetrainOutcome(candidate=candidate, promoted=promoted, reason=reason)


def _promote_unless_changed(
    candidate: ModelVersion, *, compared_with: ModelVersion | None, note: str
) -> tuple[bool, str]:
    """Activate the candidate only if the version it was compared with is still the active one:
    a rollback made by staff while it trained is a decision the candidate must not undo."""
    with transaction.atomic():
        current = (
            ModelVersion.objects.select_for_update()
            .filter(status=ModelVersion.Status.ACTIVE)
            .first()
        )
        if (current.pk if current else None) != (compared_with.pk if compared_with else None):
            now_active = current.version if current else "none"
            reason = (
                f"Not promoted: the active model changed to {now_active} while this candidate "
                "trained; promote it by hand if it should serve."
            )
            candidate.status_note = reason
            candidate.save(update_fields=["status_note"])
            return False, reason
        model_versions.model_version_activate(model_version=candidate, note=note)
    return True, note


# --- Training runs (what the admin shows while the worker trains) ---------------------------


def training_run_create(
    *, requested_by: AbstractBaseUser | None = None, force: bool = False
) -> TrainingRun:
    # A run still busy after two hours died with its worker (a retrain takes minutes): it no
    # longer blocks a new one.
    stale = timezone.now() - timedelta(hours=2)
    TrainingRun.objects.filter(busy=True, created_at__lt=stale).update(
        busy=None,
        state=TrainingRun.State.FAILED,
        message="Abandoned: still unfinished two hours after it was queued.",
    )
    current = TrainingRun.objects.filter(busy=True).first()
    if current is not None:
        raise RetrainRefused(
            f"Training run #{current.pk} is already {current.get_state_display()}."
        )
    try:
        with transaction.atomic():
            return TrainingRun.objects.create(requested_by=requested_by, force=force, busy=True)
    except IntegrityError:
        raise RetrainRefused("Another training run was started at the same moment.") from None


def stage_text(name: str, done: int, total: int, unit: str) -> str:
    """A stage's progress as a phrase: "Forest: 20 of 30 trees", or its name while it runs."""
    if unit:
        return f"{name}: {done} of {total} {unit}"
    return name if done < total else f"{name}: done"


def training_run_execute(
    *,
    run: TrainingRun,
    on_progress: Progress | None = None,
    replace_starter: bool = False,
    **retrain_options: Any,
) -> TrainingRun:
    """Run a queued retraining (or, with `replace_starter`, the default model's training that
    replaces the starter model), keeping its state and progress up to date for the admin."""
    run.state = TrainingRun.State.RUNNING
    run.started_at = timezone.now()
    run.progress = 0
    run.save(update_fields=["state", "started_at", "progress"])
    last = {"percent": -1, "stage": ""}

    def progress(percent: int, stage: str) -> None:
        stage = stage or last["stage"]
        if (percent, stage) == (last["percent"], last["stage"]):
            return
        last["percent"], last["stage"] = percent, stage
        TrainingRun.objects.filter(pk=run.pk).update(progress=percent, stage=stage[:200])
        logger.info("training_run_progress run=%s percent=%s stage=%s", run.pk, percent, stage)
        if on_progress is not None:
            on_progress(percent, stage)

    def stage(name: str, done: int, total: int, unit: str) -> None:
        progress(max(last["percent"], 0), stage_text(name, done, total, unit))

    try:
        if replace_starter:
            outcome = starter_replace(progress=progress, stage=stage, **retrain_options)
        else:
            outcome = retrain(force=run.force, progress=progress, stage=stage, **retrain_options)
    except BaseException as exc:
        # Stopping the worker (Ctrl-C, SIGTERM) ends the run too: left busy, it would block the
        # next one for hours.
        logger.exception("retrain_failed run=%s", run.pk)
        run.state = TrainingRun.State.FAILED
        if isinstance(exc, Exception):
            what = "The default model's training" if replace_starter else "Retraining"
            run.message = f"{what} failed: {type(exc).__name__}: {exc}"
        else:
            run.message = "Interrupted: the task worker was stopped while it trained."
        run.finished_at = timezone.now()
        run.busy = None
        run.save(update_fields=["state", "message", "finished_at", "busy"])
        raise
    run.refresh_from_db(fields=["progress", "stage"])
    run.state = TrainingRun.State.SUCCEEDED
    run.candidate = outcome.candidate
    run.promoted = outcome.promoted
    verdict = "is now active" if outcome.promoted else "stays a candidate"
    run.message = f"{outcome.candidate.version} {verdict}: {outcome.reason}"
    run.progress = 100
    run.finished_at = timezone.now()
    run.busy = None
    run.save(
        update_fields=[
            "state",
            "candidate",
            "promoted",
            "message",
            "progress",
            "finished_at",
            "busy",
        ]
    )
    return run
