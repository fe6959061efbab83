import uuid

import numpy as np
from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

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


class PredictionQuerySet(models.QuerySet):
    def for_user(self, user) -> "PredictionQuerySet":
        """What `user` may look at: their own uploads; everyone's for reviewers, who hold the
        view permission (being staff is not enough)."""
        if user.has_perm("recognizer.view_prediction"):
            return self
        return self.filter(owner=user)

    def owned_by(self, user) -> "PredictionQuerySet":
        return self.filter(owner=user)

    def stored_bytes(self) -> int:
        return self.aggregate(total=models.Sum("stored_bytes"))["total"] or 0

    def _reviewed_q(self) -> Q:
        # A one-digit upload is reviewed when it has its true label; a number when every one of
        # its digits has.
        digits = DigitReading.objects.filter(prediction=models.OuterRef("pk"))
        number_reviewed = (
            Q(digit__isnull=True)
            & Q(models.Exists(digits))
            & ~Q(models.Exists(digits.filter(true_label__isnull=True)))
        )
        return Q(true_label__isnull=False) | number_reviewed

    def reviewed(self) -> "PredictionQuerySet":
        return self.filter(self._reviewed_q())

    def unreviewed(self) -> "PredictionQuerySet":
        return self.exclude(self._reviewed_q())

    def unfinished(self) -> "PredictionQuerySet":
        return self.exclude(status=Prediction.Status.DONE)

    def needs_review(self) -> "PredictionQuerySet":
        return self.unreviewed().filter(excluded_from_training=False, status=Prediction.Status.DONE)

    def training_usable(self) -> "PredictionQuerySet":
        """Reviewed, not excluded, with the 28x28 input the model saw: what retraining can use."""
        return self.filter(
            true_label__isnull=False, excluded_from_training=False, model_input__isnull=False
        )

    def filter_by(
        self, *, digit: int | None = None, reviewed: bool | None = None, text: str | None = None
    ) -> "PredictionQuerySet":
        """The history and API filters: a predicted digit, reviewed or not, the text read
        containing `text` (None: any)."""
        queryset = self
        if digit is not None:
            queryset = queryset.filter(digit=digit)
        if text:
            queryset = queryset.filter(text__contains=text)
        if reviewed is not None:
            queryset = queryset.reviewed() if reviewed else queryset.unreviewed()
        return queryset

    def review_queue(self) -> "PredictionQuerySet":
        return self.order_by(*REVIEW_QUEUE_ORDERING)


def _review_rank() -> models.Case:
    # Unreviewed first; within them the owners' claims, then low confidence, then the rest.
    return models.Case(
        models.When(true_label__isnull=False, then=models.Value(3)),
        models.When(excluded_from_training=True, then=models.Value(3)),
        models.When(user_label__isnull=False, then=models.Value(0)),
        models.When(low_confidence=True, then=models.Value(1)),
        default=models.Value(2),
        output_field=models.IntegerField(),
    )


REVIEW_QUEUE_ORDERING = [
    _review_rank().asc(),
    models.F("confidence").asc(nulls_first=True),
    models.F("created_at").desc(),
]


class Prediction(models.Model):
    class Mode(models.TextChoices):
        AUTO = "auto", "Whatever it holds"
        DIGIT = "digit", "One digit"
        NUMBER = "number", "A number"

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
    # The stored image and thumbnail, in bytes: what counts against the owner's storage quota.
    stored_bytes = models.PositiveBigIntegerField(default=0)

    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    error_message = models.TextField(blank=True)

    digit = models.PositiveSmallIntegerField(
        null=True, blank=True, choices=DIGIT_CHOICES, validators=digit_validators
    )
    # The whole reading, leading zeros kept ("042"); one digit's text is that digit. For a number
    # `digit`, `probabilities` and `model_input` are NULL (they are per digit, in `digits`),
    # `confidence` is the product of the digits' and `low_confidence` is any digit's.
    text = models.CharField(max_length=32, blank=True, db_index=True)
    mode = models.CharField(
        max_length=8,
        choices=Mode.choices,
        default=Mode.AUTO,
        help_text="What the uploader asked it to be read as.",
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
    # Who changed a label, when, and from what: only the review fields are kept per change.
    history = HistoricalRecords(
        excluded_fields=[
            "image",
            "thumbnail",
            "original_filename",
            "source",
            "model_input",
            "text",
            "mode",
            "stored_bytes",
            "status",
            "error_message",
            "confidence",
            "probabilities",
            "low_confidence",
            "model_version",
            "predict_ms",
            "created_at",
        ]
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["owner", "created_at"], name="prediction_owner_created")]

    def __str__(self) -> str:
        return f"Prediction #{self.pk} ({self.get_status_display()})"

    @property
    def reviewed_text(self) -> str | None:
        """The reviewed reading: the true label, or for a number its digits' true labels once
        every one is reviewed; None until then."""
        if self.true_label is not None:
            return str(self.true_label)
        if len(self.text) < 2:
            return None
        labels = [d.true_label for d in self.digits.all()]
        if not labels or None in labels:
            return None
        return "".join(map(str, labels))

    @property
    def is_reviewed(self) -> bool:
        return self.reviewed_text is not None

    @property
    def is_correct(self) -> bool | None:
        if self.true_label is None or self.digit is None:
            return None
        return self.true_label == self.digit

    @property
    def model_input_array(self) -> np.ndarray | None:
        """The (28, 28) uint8 image the model saw, or None if none was recorded."""
        if not self.model_input:
            return None
        return np.frombuffer(bytes(self.model_input), dtype=np.uint8).reshape(28, 28)

    @property
    def probability_rows(self) -> list[tuple[int, float]]:
        return list(enumerate(self.probabilities or []))


class DigitReadingQuerySet(models.QuerySet):
    def for_user(self, user) -> "DigitReadingQuerySet":
        if user.has_perm("recognizer.view_prediction"):
            return self
        return self.filter(prediction__owner=user)

    def needs_review(self) -> "DigitReadingQuerySet":
        return self.filter(
            true_label__isnull=True,
            prediction__excluded_from_training=False,
            prediction__status=Prediction.Status.DONE,
        )

    def review_queue(self) -> "DigitReadingQuerySet":
        """In the order of their uploads' review queue (claims on any digit first), each
        upload's digits left to right."""
        claimed = DigitReading.objects.filter(
            prediction=models.OuterRef("prediction"), user_label__isnull=False
        )
        rank = models.Case(
            models.When(prediction__user_label__isnull=False, then=models.Value(0)),
            models.When(models.Exists(claimed), then=models.Value(0)),
            models.When(prediction__low_confidence=True, then=models.Value(1)),
            default=models.Value(2),
            output_field=models.IntegerField(),
        )
        return self.order_by(
            rank.asc(),
            models.F("prediction__confidence").asc(nulls_first=True),
            models.F("prediction__created_at").desc(),
            models.F("prediction_id").desc(),
            "position",
        )

    def training_usable(self) -> "DigitReadingQuerySet":
        """Reviewed digits of uploads not excluded: what retraining and the export use."""
        return self.filter(true_label__isnull=False, prediction__excluded_from_training=False)


class DigitReading(models.Model):
    """One digit of an upload's reading, left to right: its box, what the model saw and said,
    and its labels (the owner's claim, the reviewed truth)."""

    prediction = models.ForeignKey(Prediction, on_delete=models.CASCADE, related_name="digits")
    position = models.PositiveSmallIntegerField(help_text="0 is the leftmost digit.")
    # The digit's ink in the stored image's pixels (x1, y1 exclusive).
    x0 = models.PositiveIntegerField()
    y0 = models.PositiveIntegerField()
    x1 = models.PositiveIntegerField()
    y1 = models.PositiveIntegerField()
    # The 28x28 uint8 image the model saw, row-major: 784 bytes.
    model_input = models.BinaryField()
    digit = models.PositiveSmallIntegerField(choices=DIGIT_CHOICES, validators=digit_validators)
    confidence = models.FloatField()
    probabilities = models.JSONField()
    low_confidence = models.BooleanField(default=False)

    user_label = models.PositiveSmallIntegerField(
        null=True, blank=True, choices=DIGIT_CHOICES, validators=digit_validators
    )
    user_label_at = models.DateTimeField(null=True, blank=True)
    true_label = models.PositiveSmallIntegerField(
        null=True, blank=True, choices=DIGIT_CHOICES, validators=digit_validators
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reviewed_digits",
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)

    objects = DigitReadingQuerySet.as_manager()
    history = HistoricalRecords(
        excluded_fields=[
            "x0",
            "y0",
            "x1",
            "y1",
            "model_input",
            "confidence",
            "probabilities",
            "low_confidence",
        ]
    )

    class Meta:
        ordering = ["prediction", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["prediction", "position"], name="recognizer_one_digit_per_position"
            )
        ]

    def __str__(self) -> str:
        return f"Digit {self.position} of prediction #{self.prediction_id}"

    @property
    def box(self) -> tuple[int, int, int, int]:
        return (self.x0, self.y0, self.x1, self.y1)

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    @property
    def model_input_array(self) -> np.ndarray:
        return np.frombuffer(bytes(self.model_input), dtype=np.uint8).reshape(28, 28)

    @property
    def probability_rows(self) -> list[tuple[int, float]]:
        return list(enumerate(self.probabilities or []))

    @property
    def is_correct(self) -> bool | None:
        if self.true_label is None:
            return None
        return self.true_label == self.digit


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
