import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

DIGIT_CHOICES = [(d, str(d)) for d in range(10)]
digit_validators = [MinValueValidator(0), MaxValueValidator(9)]


def prediction_upload_to(instance: "Prediction", filename: str) -> str:
    # The user's filename never reaches the filesystem: it is kept only as display text.
    now = timezone.now()
    return f"uploads/{now:%Y/%m}/{uuid.uuid4().hex}.png"


def prediction_thumbnail_to(instance: "Prediction", filename: str) -> str:
    now = timezone.now()
    return f"thumbnails/{now:%Y/%m}/{uuid.uuid4().hex}.png"


class ModelVersionQuerySet(models.QuerySet):
    def active(self) -> "ModelVersion | None":
        return self.filter(status=ModelVersion.Status.ACTIVE).first()


class ModelVersion(models.Model):
    class Status(models.TextChoices):
        CANDIDATE = "candidate", "Candidate"
        ACTIVE = "active", "Active"
        RETIRED = "retired", "Retired"

    version = models.CharField(max_length=64, unique=True)
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
    # What it was trained on: {"mnist": n, "reviewed_uploads": n, "correction_ids": [...]}.
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


class PredictionQuerySet(models.QuerySet):
    def for_user(self, user) -> "PredictionQuerySet":
        if user.is_staff:
            return self
        return self.filter(owner=user)

    def owned_by(self, user) -> "PredictionQuerySet":
        return self.filter(owner=user)

    def reviewed(self) -> "PredictionQuerySet":
        return self.filter(true_label__isnull=False)

    def unreviewed(self) -> "PredictionQuerySet":
        return self.filter(true_label__isnull=True)

    def unfinished(self) -> "PredictionQuerySet":
        return self.exclude(status=Prediction.Status.DONE)


class Prediction(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    class Source(models.TextChoices):
        UPLOAD = "upload", "Upload"
        DRAWING = "drawing", "Drawing"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="predictions"
    )
    image = models.FileField(upload_to=prediction_upload_to, max_length=255)
    thumbnail = models.FileField(upload_to=prediction_thumbnail_to, max_length=255, blank=True)
    original_filename = models.CharField(max_length=255, blank=True)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.UPLOAD)
    # The 28x28 uint8 image the model saw, row-major: 784 bytes.
    model_input = models.BinaryField(null=True, blank=True)

    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    error_message = models.TextField(blank=True)

    digit = models.PositiveSmallIntegerField(
        null=True, blank=True, choices=DIGIT_CHOICES, validators=digit_validators
    )
    confidence = models.FloatField(null=True, blank=True)
    probabilities = models.JSONField(null=True, blank=True)
    low_confidence = models.BooleanField(default=False)
    model_version = models.ForeignKey(
        ModelVersion,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="predictions",
    )
    predict_ms = models.FloatField(null=True, blank=True)

    # The owner's claim ("this is wrong, it is a N"): not training data until staff confirm it.
    user_label = models.PositiveSmallIntegerField(
        null=True, blank=True, choices=DIGIT_CHOICES, validators=digit_validators
    )
    user_label_at = models.DateTimeField(null=True, blank=True)
    excluded_from_training = models.BooleanField(default=False)

    true_label = models.PositiveSmallIntegerField(
        null=True, blank=True, choices=DIGIT_CHOICES, validators=digit_validators
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reviewed_predictions",
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(default=timezone.now)

    objects = PredictionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["owner", "created_at"], name="prediction_owner_created")]

    def __str__(self) -> str:
        return f"Prediction #{self.pk} ({self.get_status_display()})"

    @property
    def is_reviewed(self) -> bool:
        return self.true_label is not None

    @property
    def is_correct(self) -> bool | None:
        if self.true_label is None or self.digit is None:
            return None
        return self.true_label == self.digit

    @property
    def probability_rows(self) -> list[tuple[int, float]]:
        return list(enumerate(self.probabilities or []))
