"""Trained model versions: which one serves, and how each did."""

from django.db import models
from django.db.models import Q
from django.utils import timezone


class ModelVersionQuerySet(models.QuerySet):
    def active(self) -> "ModelVersion | None":
        return self.filter(status=ModelVersion.Status.ACTIVE).first()


class ModelVersion(models.Model):
    class Status(models.TextChoices):
        CANDIDATE = "candidate", "Candidate"
        ACTIVE = "active", "Active"
        RETIRED = "retired", "Retired"

    class Kind(models.TextChoices):
        RF = "rf", "Random forest"
        EXTRATREES = "extratrees", "Extra trees"
        SVM = "svm", "SVM (RBF, calibrated)"
        ENSEMBLE = "ensemble", "Ensemble (forest + SVM)"

    version = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.RF, db_index=True)
    artifact_path = models.CharField(
        max_length=500, help_text="Path of the joblib artifact, relative to MODEL_DIR."
    )
    sha256 = models.CharField(max_length=64)
    params = models.JSONField(default=dict, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.CANDIDATE, db_index=True
    )
    parent = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="children"
    )
    # What it was trained on: {"mnist": n, "reviewed_uploads": n, "reviewed_digits": n,
    # "correction_ids": [upload ids], ...}.
    training_data = models.JSONField(default=dict, blank=True)
    # Metrics on the held-out slice of reviewed uploads (the MNIST test metrics are in `metrics`).
    heldout_metrics = models.JSONField(default=dict, blank=True)
    status_note = models.TextField(blank=True)

    objects = ModelVersionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # At most one active version, whatever the code above the database does.
            models.UniqueConstraint(
                fields=["status"],
                condition=Q(status="active"),
                name="recognizer_one_active_model_version",
            )
        ]

    def __str__(self) -> str:
        return self.version

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    @property
    def mnist_accuracy(self) -> float | None:
        return self.metrics.get("accuracy")
