"""Background tasks, run by the worker (`python manage.py db_worker`).

Imports run one way: tasks -> training_runs -> retraining.
"""

from django.contrib.auth.models import AbstractBaseUser
from django_tasks import task

from . import training_runs
from .models import TrainingRun


@task()
def retrain_task(training_run_id: int) -> dict:
    run = TrainingRun.objects.get(pk=training_run_id)
    run = training_runs.training_run_execute(run=run)
    return {"candidate": run.candidate.version if run.candidate else None, "promoted": run.promoted}


def training_run_enqueue(
    *, requested_by: AbstractBaseUser | None = None, force: bool = False
) -> TrainingRun:
    """Queue a retraining for the background worker."""
    run = training_runs.training_run_create(requested_by=requested_by, force=force)
    result = retrain_task.enqueue(training_run_id=run.pk)
    TrainingRun.objects.filter(pk=run.pk, task_id="").update(task_id=str(result.id))
    run.refresh_from_db()
    return run


@task()
def starter_replace_task(training_run_id: int) -> dict:
    run = TrainingRun.objects.get(pk=training_run_id)
    run = training_runs.training_run_execute(run=run, replace_starter=True)
    return {"candidate": run.candidate.version if run.candidate else None, "promoted": run.promoted}


def starter_replace_enqueue() -> TrainingRun:
    """Queue the default model's training, which replaces the starter model when it is done."""
    run = training_runs.training_run_create()
    result = starter_replace_task.enqueue(training_run_id=run.pk)
    TrainingRun.objects.filter(pk=run.pk, task_id="").update(task_id=str(result.id))
    run.refresh_from_db()
    return run
