"""Background tasks, run by the worker (`python manage.py db_worker`)."""

from django_tasks import task

from .models import TrainingRun


@task()
def retrain_task(training_run_id: int) -> dict:
    from . import training

    run = TrainingRun.objects.get(pk=training_run_id)
    run = training.training_run_execute(run=run)
    return {"candidate": run.candidate.version if run.candidate else None, "promoted": run.promoted}
