"""Model versions: train-and-register, evaluate, activate, promote, roll back.

Every write of a ModelVersion goes through here; which version serves is read by `registry`.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from ml.data import load_mnist
from ml.predict import Model
from ml.train import StageProgress, train_and_save

from . import artifacts, registry
from .models import ModelVersion
from .retraining_data import digitness_examples

TreeProgress = Callable[[int, int], None]

# The starter model: what `make run` serves from its first minute while the default model trains
# in the background (docs/benchmarks.md, "The first minute", has its accuracy and time).
STARTER_TRAIN_IMAGES = 10_000
STARTER_TREES = 20
STARTER_WHOLENESS_LINES = 0
STARTER_NOTE = (
    "Starter model: a small forest trained in seconds on part of MNIST, so the site answers at "
    "once; it does not yet refuse marks that are not digits. The default model trains in the "
    "background and replaces it when it is done."
)


@dataclass
class TrainedVersion:
    model_version: ModelVersion
    model: Model
    metrics: dict[str, Any]
    train_seconds: float


def new_version_name(suffix: str = "") -> str:
    version = datetime.now(UTC).strftime("%Y%m%d-%H%M%S") + suffix
    while ModelVersion.objects.filter(version=version).exists():
        version += "-b"
    return version


def model_version_train(
    *,
    images: np.ndarray,
    labels: np.ndarray,
    test_images: np.ndarray,
    test_labels: np.ndarray,
    data_source: str,
    train_options: dict[str, Any],
    version_suffix: str = "",
    progress: TreeProgress | None = None,
    stage: StageProgress | None = None,
    activate: bool = False,
    **register_fields: Any,
) -> TrainedVersion:
    """Train a model, score it on the test set, save its artifact and register it.

    `train_options` go to `ml.train.train_model` (kind, n_estimators, max_svm_train, ...).
    `train_model`, the retraining and the admin's retrain all come through here, so every version
    is made alike.
    """
    version = new_version_name(version_suffix)
    if "digitness" not in train_options:
        train_options = {**train_options, "digitness": digitness_examples()}
    result, artifact, metrics = train_and_save(
        images,
        labels,
        out_dir=Path(settings.MODEL_DIR) / version,
        version=version,
        data_source=data_source,
        test=(test_images, test_labels),
        progress=progress,
        stage=stage,
        **train_options,
    )
    model_version = model_version_register(
        version=version,
        kind=result.params.get("kind", ModelVersion.Kind.RF),
        artifact_path=str(artifact.path.relative_to(Path(settings.MODEL_DIR))),
        sha256=artifact.sha256,
        params={**result.params, "train_seconds": round(result.train_seconds, 1)},
        metrics=metrics,
        activate=activate,
        **register_fields,
    )
    return TrainedVersion(
        model_version=model_version,
        model=result.model,
        metrics=metrics,
        train_seconds=result.train_seconds,
    )


def model_version_train_on_mnist(
    *,
    train_options: dict[str, Any],
    limit: int | None = None,
    test_limit: int | None = None,
    source_note: str = "",
    training_data: dict[str, Any] | None = None,
    **train_fields: Any,
) -> TrainedVersion:
    """`model_version_train` on MNIST train (its first `limit` images), scored on MNIST test
    (its first `test_limit`), from the IDX files in MNIST_DIR; the counts go in training_data."""
    images, labels = load_mnist("train", data_dir=settings.MNIST_DIR, limit=limit)
    test_images, test_labels = load_mnist("test", data_dir=settings.MNIST_DIR, limit=test_limit)
    return model_version_train(
        images=images,
        labels=labels,
        test_images=test_images,
        test_labels=test_labels,
        train_options=train_options,
        data_source=f"MNIST IDX files ({len(labels)} train, {len(test_labels)} test){source_note}",
        training_data={
            "mnist": len(labels),
            "mnist_test": len(test_labels),
            **(training_data or {}),
        },
        **train_fields,
    )


def is_starter(model_version: ModelVersion | None) -> bool:
    """Whether a version is a starter model (`model_version_train_starter`)."""
    return model_version is not None and bool(model_version.training_data.get("starter"))


def model_version_train_starter(
    *, stage: StageProgress | None = None, activate: bool = True
) -> TrainedVersion:
    """Train the starter model (a small forest on part of MNIST, seconds), register it as a
    starter and activate it."""
    return model_version_train_on_mnist(
        train_options={
            "kind": ModelVersion.Kind.RF,
            "n_estimators": STARTER_TREES,
            "wholeness_lines": STARTER_WHOLENESS_LINES,
            # Learning the detector would double the starter's seconds; the default model has one.
            "digitness": None,
        },
        limit=STARTER_TRAIN_IMAGES,
        source_note=", starter",
        training_data={"starter": True},
        version_suffix="-starter",
        stage=stage,
        activate=activate,
        status_note=STARTER_NOTE,
    )


def model_version_register(
    *,
    version: str,
    artifact_path: str,
    sha256: str,
    params: dict,
    metrics: dict,
    activate: bool = True,
    **extra,
) -> ModelVersion:
    # Files before the row: once a version can be activated, every server can fetch it.
    artifacts.publish(artifact_path)
    with transaction.atomic():
        model_version = ModelVersion.objects.create(
            version=version,
            artifact_path=artifact_path,
            sha256=sha256,
            params=params,
            metrics=metrics,
            **extra,
        )
        if activate:
            model_version_activate(model_version=model_version, note=model_version.status_note)
    return model_version


def model_version_record_metrics(*, model_version: ModelVersion, metrics: dict) -> ModelVersion:
    """Store a fresh evaluation with the version (`evaluate_model`)."""
    model_version.metrics = {**model_version.metrics, **metrics}
    model_version.save(update_fields=["metrics"])
    return model_version


def model_version_activate(*, model_version: ModelVersion, note: str = "") -> ModelVersion:
    with transaction.atomic():
        # Retire first: the partial unique index allows only one active row at any moment.
        ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).exclude(
            pk=model_version.pk
        ).update(status=ModelVersion.Status.RETIRED)
        model_version.status = ModelVersion.Status.ACTIVE
        model_version.status_note = note
        model_version.save(update_fields=["status", "status_note"])
    return model_version


def model_version_promote(
    *, model_version: ModelVersion, user: AbstractBaseUser | None = None
) -> ModelVersion:
    """Staff promote a candidate by hand (the gate is advisory here: they know better), once its
    artifact loads: activating a model that cannot serve would fail every upload."""
    registry.load_version(model_version)
    who = f" by {user.get_username()}" if user is not None else ""
    return model_version_activate(
        model_version=model_version, note=f"Promoted{who} on {timezone.now():%Y-%m-%d %H:%M} UTC."
    )


def model_version_rollback(
    *, model_version: ModelVersion, user: AbstractBaseUser | None = None
) -> ModelVersion:
    """Make an earlier version active again, once its artifact loads; the current one retires."""
    registry.load_version(model_version)
    current = ModelVersion.objects.active()
    who = f" by {user.get_username()}" if user is not None else ""
    previous = f" from {current.version}" if current is not None else ""
    return model_version_activate(
        model_version=model_version,
        note=f"Rolled back{previous}{who} on {timezone.now():%Y-%m-%d %H:%M} UTC.",
    )
