"""Model faults must not put a worse or broken model in front of users (hardening 2, 5, 7, 16)."""

import io
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from recognizer import model_versions, predictions, registry, retraining, training_runs
from recognizer.models import ModelVersion, Prediction, TrainingRun

pytestmark = pytest.mark.django_db

SMALL = {"mnist_limit": 500, "test_limit": 200, "n_estimators": 2, "copies": 0}


def _own_copy(tiny_artifact, name: str, *, activate: bool) -> tuple[ModelVersion, Path]:
    """The tiny model copied into this test's MODEL_DIR under `name`, so it can be broken."""
    source = Path(tiny_artifact.path)
    target_dir = Path(settings.MODEL_DIR) / name
    shutil.copytree(source.parent, target_dir)
    version = model_versions.model_version_register(
        version=name,
        artifact_path=f"{name}/{source.name}",
        sha256=tiny_artifact.sha256,
        params={"n_estimators": 10},
        metrics={"accuracy": 0.9},
        activate=activate,
    )
    return version, target_dir / source.name


def test_retrain_does_not_promote_over_an_active_model_it_cannot_load(tiny_artifact, staff_user):
    active, artifact = _own_copy(tiny_artifact, "good", activate=True)
    artifact.write_bytes(b"a transient corruption" + artifact.read_bytes()[:100])
    run = training_runs.training_run_create(requested_by=staff_user)

    with pytest.raises(retraining.ActiveModelUnusable):
        training_runs.training_run_execute(run=run, **SMALL)

    assert ModelVersion.objects.active() == active
    assert ModelVersion.objects.count() == 1
    run.refresh_from_db()
    assert run.state == TrainingRun.State.FAILED
    assert "cannot be loaded" in run.message and "nothing was promoted" in run.message
    assert run.busy is None


def test_forced_retrain_replaces_a_broken_active_model(tiny_artifact):
    _own_copy(tiny_artifact, "good", activate=True)[1].unlink()

    outcome = retraining.retrain(force=True, **SMALL)

    assert outcome.promoted
    assert ModelVersion.objects.active() == outcome.candidate


@pytest.mark.parametrize("action", ["roll_back_to_this_version", "promote_candidate"])
def test_activating_a_version_whose_artifact_is_missing_is_refused(
    client, staff_user, tiny_artifact, action
):
    serving, _ = _own_copy(tiny_artifact, "serving", activate=True)
    broken, artifact = _own_copy(tiny_artifact, "broken", activate=False)
    if action == "roll_back_to_this_version":
        ModelVersion.objects.filter(pk=broken.pk).update(status=ModelVersion.Status.RETIRED)
    artifact.unlink()
    client.force_login(staff_user)

    response = client.post(
        reverse("admin:recognizer_modelversion_changelist"),
        {"action": action, "_selected_action": [broken.pk]},
        follow=True,
    )

    assert "cannot be loaded" in response.content.decode()
    assert ModelVersion.objects.active() == serving
    assert client.get("/healthz").status_code == 200


def test_repredict_reads_its_own_stored_file_even_above_the_upload_byte_limit(
    user, digit_png, tiny_artifact, settings
):
    failed = predictions.prediction_create(user=user, image_file=io.BytesIO(digit_png))
    assert failed.status == Prediction.Status.FAILED
    settings.UPLOAD_MAX_BYTES = failed.image.size - 1
    _own_copy(tiny_artifact, "late", activate=True)

    done = predictions.prediction_run(prediction=Prediction.objects.get(pk=failed.pk))

    assert done.status == Prediction.Status.DONE, done.error_message


def test_a_retrain_finishing_after_a_rollback_does_not_undo_it(tiny_artifact, settings):
    settings.MODEL_REFRESH_SECONDS = 0
    earlier, _ = _own_copy(tiny_artifact, "earlier", activate=False)
    _own_copy(tiny_artifact, "current", activate=True)

    def staff_roll_back_meanwhile(percent: int, stage: str) -> None:
        if percent == 85:
            model_versions.model_version_rollback(model_version=earlier)

    outcome = retraining.retrain(force=True, progress=staff_roll_back_meanwhile, **SMALL)

    assert not outcome.promoted
    assert "active model changed to earlier" in outcome.reason
    assert ModelVersion.objects.active() == earlier
    assert registry.get_active_model()[0] == earlier


def test_the_database_refuses_two_busy_training_runs():
    TrainingRun.objects.create(busy=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        TrainingRun.objects.create(busy=True)


def test_a_run_left_busy_by_a_dead_worker_does_not_block_forever(staff_user):
    stale = TrainingRun.objects.create(busy=True, state=TrainingRun.State.RUNNING)
    TrainingRun.objects.filter(pk=stale.pk).update(created_at=timezone.now() - timedelta(hours=3))

    run = training_runs.training_run_create(requested_by=staff_user)

    stale.refresh_from_db()
    assert stale.state == TrainingRun.State.FAILED and stale.busy is None
    assert run.busy is True
