"""Running the site: retraining runs and rate budgets."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from .model_versions import ModelVersion


class TrainingRun(models.Model):
    """One retraining, queued from the admin or the command; the task updates it as it goes."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent done.")
    stage = models.CharField(max_length=200, blank=True)
    force = models.BooleanField(default=False)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    task_id = models.CharField(max_length=64, blank=True)
    candidate = models.ForeignKey(
        ModelVersion, on_delete=models.SET_NULL, null=True, blank=True, related_name="training_runs"
    )
    promoted = models.BooleanField(default=False)
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # True while queued or running, NULL once finished: unique, so the database itself refuses a
    # second run started at the same moment (checking, then creating, would let both through).
    busy = models.BooleanField(null=True, default=None, unique=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("start_retraining", "Can start a retraining")]

    def __str__(self) -> str:
        return f"Training run #{self.pk} ({self.get_state_display()})"


class RateBudget(models.Model):
    """What one caller spent of one rate limit: the times of the recent spends, newest first.

    A row per key, locked while it is read and written, so concurrent requests on any worker or
    server never both take the last unit (a cache's read-then-write let 62 of 60 through).
    """

    key = models.CharField(max_length=200, unique=True)
    history = models.JSONField(default=list)

    def __str__(self) -> str:
        return self.key
