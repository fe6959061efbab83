"""Training a candidate: from reviewed corrections (`retrain`, through the promotion gate), or the
default model that replaces the starter model (`starter_replace`).

The candidate is made and registered by `model_versions.model_version_train`, like any other
version; the data comes from `retraining_data`, the verdict from `promotion`.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.conf import settings

from ml.data import load_mnist
from ml.evaluate import evaluate
from ml.predict import FOREST_KINDS, Model
from ml.train import DEFAULT_KIND, StageProgress

from . import model_versions, registry
from .models import ModelVersion
from .promotion import promote_unless_changed, promotion_gate
from .retraining_data import augment, model_inputs, split_reviewed, upload_ids

logger = logging.getLogger(__name__)

Progress = Callable[[int, str], None]


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
            "reviewed_uploads": len(upload_ids(train_rows)),
            "reviewed_digits": len(corr_y),
            "augmented_copies": int(copies),
            "correction_ids": upload_ids(train_rows),
            "heldout_ids": upload_ids(heldout_rows),
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
        "ids": upload_ids(heldout_rows),
        "active_version": active.version if active else None,
        "active_accuracy": active_heldout,
    }
    candidate.status_note = reason if ok else f"Waiting for staff: {reason}"
    candidate.save(update_fields=["metrics", "heldout_metrics", "status_note"])

    promoted = ok or force
    if promoted:
        note = reason if ok else f"Promoted with --force despite the gate: {reason}"
        promoted, reason = promote_unless_changed(candidate, compared_with=active, note=note)
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

    def percent(done: int, total: int) -> None:
        if progress is not None:
            progress(min(99, done * 100 // max(total, 1)), "")

    trained = model_versions.model_version_train_on_mnist(
        train_options={"kind": DEFAULT_KIND},
        limit=mnist_limit,
        test_limit=test_limit,
        progress=percent,
        stage=stage,
        parent=starter,
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
    promoted, reason = promote_unless_changed(candidate, compared_with=starter, note=note)
    return RetrainOutcome(candidate=candidate, promoted=promoted, reason=reason)
