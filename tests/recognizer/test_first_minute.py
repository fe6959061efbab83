"""The first minute: `train_model --starter` serves a quick starter model at once and queues the
default model's training, which replaces the starter when it is done."""

import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse

from recognizer import model_versions, retraining, training_runs
from recognizer.models import ModelVersion, TrainingRun

DUMMY = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}


@pytest.fixture
def starter(db, tiny_artifact):
    """The tiny model registered as a starter (the command's own starter is tested once)."""
    return model_versions.model_version_register(
        version="tiny-starter",
        artifact_path=str(Path(tiny_artifact.path).resolve()),
        sha256=tiny_artifact.sha256,
        params={"n_estimators": 10},
        metrics={"accuracy": 0.9},
        training_data={"starter": True},
        status_note=model_versions.STARTER_NOTE,
    )


@pytest.mark.django_db
def test_starter_is_trained_activated_labelled_and_the_default_model_queued(
    settings, monkeypatch, client, staff_user
):
    settings.TASKS = DUMMY
    monkeypatch.setattr(model_versions, "STARTER_TRAIN_IMAGES", 1000)
    out = io.StringIO()

    call_command("train_model", "--starter", "--if-none-active", stdout=out, stderr=io.StringIO())

    active = ModelVersion.objects.active()
    assert active.version.endswith("-starter")
    assert model_versions.is_starter(active)
    assert active.training_data["mnist"] == 1000
    assert active.status_note == model_versions.STARTER_NOTE
    run = TrainingRun.objects.get()
    assert run.state == TrainingRun.State.QUEUED and run.task_id
    assert "starter" in out.getvalue() and "Queued training run" in out.getvalue()
    client.force_login(staff_user)
    stats = client.get(reverse("admin:recognizer_modelversion_stats", args=[active.pk]))
    assert 'data-testid="starter-model"' in stats.content.decode()
    assert "(starter model)" in stats.content.decode()

    # Again (a second `make run`): the starter serves and its replacement is already queued.
    out = io.StringIO()
    call_command("train_model", "--starter", "--if-none-active", stdout=out)
    assert ModelVersion.objects.get() == active
    assert TrainingRun.objects.count() == 1
    assert "is active; not training" in out.getvalue()


@pytest.mark.django_db
def test_if_none_active_does_nothing_when_a_full_model_serves(settings, active_model):
    settings.TASKS = DUMMY
    out = io.StringIO()
    call_command("train_model", "--starter", "--if-none-active", stdout=out)
    assert list(ModelVersion.objects.all()) == [active_model]
    assert not TrainingRun.objects.exists()


@pytest.mark.django_db
def test_a_starter_left_active_gets_its_replacement_queued_again(settings, starter):
    settings.TASKS = DUMMY
    call_command("train_model", "--starter", "--if-none-active", stdout=io.StringIO())
    assert ModelVersion.objects.active() == starter
    assert TrainingRun.objects.get().state == TrainingRun.State.QUEUED


@pytest.mark.django_db
def test_the_default_model_replaces_the_starter_when_it_is_done(settings, starter):
    settings.MODEL_REFRESH_SECONDS = 0
    run = training_runs.training_run_create()
    stages = []

    run = training_runs.training_run_execute(
        run=run,
        replace_starter=True,
        on_progress=lambda percent, stage: stages.append(stage),
        mnist_limit=1000,
        test_limit=300,
    )

    assert run.state == TrainingRun.State.SUCCEEDED and run.promoted
    active = ModelVersion.objects.active()
    assert active == run.candidate and active.parent == starter
    assert not model_versions.is_starter(active)
    assert active.kind == ModelVersion.Kind.ENSEMBLE
    assert "replaced the starter tiny-starter" in active.status_note
    # Per stage, in the stage's own unit.
    assert any(stage.startswith("Forest: ") and stage.endswith(" trees") for stage in stages)
    assert any(stage.startswith("SVM on ") for stage in stages)


@pytest.mark.django_db
def test_the_default_model_leaves_a_version_staff_chose_meanwhile(settings, starter, active_model):
    # active_model was activated after the starter: staff chose it.
    outcome = retraining.starter_replace(mnist_limit=1000, test_limit=300)

    assert not outcome.promoted
    assert ModelVersion.objects.active() == active_model
    assert "promote this one by hand" in outcome.candidate.status_note


@pytest.mark.django_db
def test_a_stopped_worker_ends_its_run_instead_of_leaving_it_busy(settings, starter):
    run = training_runs.training_run_create()

    def stop(percent, stage):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        training_runs.training_run_execute(
            run=run, replace_starter=True, on_progress=stop, mnist_limit=500, test_limit=100
        )
    run.refresh_from_db()
    assert run.state == TrainingRun.State.FAILED and run.busy is None
    assert "Interrupted" in run.message
