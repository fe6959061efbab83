"""TrainingRun state: what the admin shows while the worker trains.

Every write of a TrainingRun goes through here; the training itself is `retraining.retrain` (or
`retraining.starter_replace`). Imports run one way: tasks -> training_runs -> retraining.
"""

import logging
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import TrainingRun
from .retraining import Progress, retrain, starter_replace

logger = logging.getLogger(__name__)


class RetrainRefused(Exception):
    """A retraining cannot start (one is already queued or running)."""


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
