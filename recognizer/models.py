import math
import uuid

import numpy as np
from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Exp, Greatest, Ln
from django.utils import timezone
from simple_history.models import HistoricalRecords

DIGIT_CHOICES = [(d, str(d)) for d in range(10)]
digit_validators = [MinValueValidator(0), MaxValueValidator(9)]


class Label(models.IntegerChoices):
    """What a person says a digit is: 0-9, or that the mark is no digit at all."""

    ZERO = 0, "0"
    ONE = 1, "1"
    TWO = 2, "2"
    THREE = 3, "3"
    FOUR = 4, "4"
    FIVE = 5, "5"
    SIX = 6, "6"
    SEVEN = 7, "7"
    EIGHT = 8, "8"
    NINE = 9, "9"
    NOT_A_DIGIT = 10, "Not a digit"


label_validators = [MinValueValidator(0), MaxValueValidator(Label.NOT_A_DIGIT)]


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


def _upload_queue_keys(upload: str) -> tuple[models.Case, models.Subquery]:
    """The review queue's rank and confidence of the upload `OuterRef(upload)` names, from its
    digits: uploads with digits left to review first, among them the owners' claims, then low
    confidence, then the rest; the least confident first within a rank. The one definition
    behind the admin list, the review screen, the API and retraining."""
    digits = Digit.objects.filter(prediction=models.OuterRef(upload)).order_by()
    open_digits = digits.filter(true_label__isnull=True, excluded_from_training=False)
    rank = models.Case(
        models.When(~models.Exists(open_digits), then=models.Value(3)),
        models.When(
            models.Exists(open_digits.filter(user_label__isnull=False)), then=models.Value(0)
        ),
        models.When(models.Exists(digits.filter(low_confidence=True)), then=models.Value(1)),
        default=models.Value(2),
        output_field=models.IntegerField(),
    )
    # The product of the digits' confidences, as exp(sum(ln)): SQL has no product aggregate.
    floor = models.Value(1e-12, output_field=models.FloatField())
    log_sum = models.Sum(Ln(Greatest(models.F("confidence"), floor)))
    confidence = models.Subquery(
        digits.values("prediction").annotate(p=Exp(log_sum)).values("p"),
        output_field=models.FloatField(),
    )
    return rank, confidence


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

    def with_digit_summary(self) -> "PredictionQuerySet":
        """Each upload with its digits (left to right) and, from them, its place in the review
        queue (`queue_rank`) and its confidence (`digits_confidence`, the product of its
        digits'): what every screen that shows or orders uploads reads."""
        rank, confidence = _upload_queue_keys("pk")
        return self.prefetch_related(
            models.Prefetch("digits", queryset=Digit.objects.select_related("reviewed_by"))
        ).annotate(queue_rank=rank, digits_confidence=confidence)

    def _reviewed_q(self) -> Q:
        # Reviewed when it has digits and each of them has its true label.
        digits = Digit.objects.filter(prediction=models.OuterRef("pk"))
        return Q(models.Exists(digits)) & ~Q(models.Exists(digits.filter(true_label__isnull=True)))

    def reviewed(self) -> "PredictionQuerySet":
        return self.filter(self._reviewed_q())

    def unreviewed(self) -> "PredictionQuerySet":
        return self.exclude(self._reviewed_q())

    def unfinished(self) -> "PredictionQuerySet":
        return self.exclude(status=Prediction.Status.DONE)

    def needs_review(self) -> "PredictionQuerySet":
        """Read uploads with a digit neither reviewed nor excluded."""
        open_digits = Digit.objects.open().filter(prediction=models.OuterRef("pk"))
        return self.filter(models.Exists(open_digits), status=Prediction.Status.DONE)

    def claimed(self, claimed: bool = True) -> "PredictionQuerySet":
        """Uploads with (or without) an owner's claim on any digit."""
        claims = Q(
            models.Exists(
                Digit.objects.filter(prediction=models.OuterRef("pk"), user_label__isnull=False)
            )
        )
        return self.filter(claims if claimed else ~claims)

    def with_digits_where(self, **lookups) -> "PredictionQuerySet":
        """Uploads with at least one digit matching `lookups` (the admin's filters)."""
        digits = Digit.objects.filter(prediction=models.OuterRef("pk"), **lookups)
        return self.filter(models.Exists(digits))

    def filter_by(
        self, *, digit: int | None = None, reviewed: bool | None = None, text: str | None = None
    ) -> "PredictionQuerySet":
        """The history and API filters: a one-digit upload read as `digit`, reviewed or not, the
        text read containing `text` (None: any)."""
        queryset = self
        if digit is not None:
            # A one-digit upload's text is its digit.
            queryset = queryset.filter(text=str(digit))
        if text:
            queryset = queryset.filter(text__contains=text)
        if reviewed is not None:
            queryset = queryset.reviewed() if reviewed else queryset.unreviewed()
        return queryset

    def review_queue(self) -> "PredictionQuerySet":
        """The review queue, one row per upload (the admin list)."""
        rank, confidence = _upload_queue_keys("pk")
        return self.annotate(queue_rank=rank, digits_confidence=confidence).order_by(
            *REVIEW_QUEUE_ORDERING
        )


# In the order of `_upload_queue_keys`; the digits of one upload follow each other.
REVIEW_QUEUE_ORDERING = [
    models.F("queue_rank").asc(),
    models.F("digits_confidence").asc(nulls_first=True),
    models.F("created_at").desc(),
    models.F("id").desc(),
]


class Prediction(models.Model):
    """One upload: its files, how it was sent and read, and the text read. What was read at
    each place and every label of it is a `Digit`; a one-digit upload has one."""

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
    # The stored image and thumbnail, in bytes: what counts against the owner's storage quota.
    stored_bytes = models.PositiveBigIntegerField(default=0)

    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    error_message = models.TextField(blank=True)

    # The whole reading, leading zeros kept ("042"); one digit's text is that digit.
    text = models.CharField(max_length=32, blank=True, db_index=True)
    mode = models.CharField(
        max_length=8,
        choices=Mode.choices,
        default=Mode.AUTO,
        help_text="What the uploader asked it to be read as.",
    )
    model_version = models.ForeignKey(
        ModelVersion,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="predictions",
    )
    predict_ms = models.FloatField(null=True, blank=True)

    created_at = models.DateTimeField(default=timezone.now)

    objects = PredictionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["owner", "created_at"], name="prediction_owner_created")]

    def __str__(self) -> str:
        return f"Prediction #{self.pk} ({self.get_status_display()})"

    # What the upload says, derived from its digits (prefetched by `with_digit_summary`).

    @property
    def digit_rows(self) -> list["Digit"]:
        return list(self.digits.all()) if self.pk else []

    @property
    def one_digit(self) -> "Digit | None":
        """The digit of a one-digit upload; None for a number or before it is read."""
        rows = self.digit_rows
        return rows[0] if len(rows) == 1 else None

    @property
    def is_number(self) -> bool:
        return len(self.text) > 1

    @property
    def digit(self) -> int | None:
        one = self.one_digit
        return None if one is None else one.digit

    @property
    def confidence(self) -> float | None:
        """The product of the digits' confidences; None before it is read."""
        rows = self.digit_rows
        return math.prod(d.confidence for d in rows) if rows else None

    @property
    def low_confidence(self) -> bool:
        return any(d.low_confidence for d in self.digit_rows)

    @property
    def probabilities(self) -> list[float] | None:
        one = self.one_digit
        return None if one is None else one.probabilities

    @property
    def probability_rows(self) -> list[tuple[int, float]]:
        return list(enumerate(self.probabilities or []))

    @property
    def model_input_array(self) -> np.ndarray | None:
        one = self.one_digit
        return None if one is None else one.model_input_array

    @property
    def user_label(self) -> int | None:
        one = self.one_digit
        return None if one is None else one.user_label

    @property
    def true_label(self) -> int | None:
        one = self.one_digit
        return None if one is None else one.true_label

    @property
    def reviewed_by(self):
        one = self.one_digit
        return None if one is None else one.reviewed_by

    @property
    def excluded_from_training(self) -> bool:
        rows = self.digit_rows
        return bool(rows) and all(d.excluded_from_training for d in rows)

    @property
    def reviewed_at(self):
        """When a label or the exclusion of its digits was last set; None if never."""
        times = [d.reviewed_at for d in self.digit_rows if d.reviewed_at is not None]
        return max(times) if times else None

    @property
    def reviewed_text(self) -> str | None:
        """The reviewed reading, its digits' true labels left to right once each has one; None
        until then."""
        labels = [d.true_label for d in self.digit_rows]
        if not labels or None in labels:
            return None
        return "".join(
            Label(label).label if label == Label.NOT_A_DIGIT else str(label) for label in labels
        )

    @property
    def is_reviewed(self) -> bool:
        return self.reviewed_text is not None

    @property
    def is_correct(self) -> bool | None:
        one = self.one_digit
        return None if one is None else one.is_correct


class DigitQuerySet(models.QuerySet):
    def for_user(self, user) -> "DigitQuerySet":
        if user.has_perm("recognizer.view_prediction"):
            return self
        return self.filter(prediction__owner=user)

    def open(self) -> "DigitQuerySet":
        """Neither reviewed nor excluded."""
        return self.filter(true_label__isnull=True, excluded_from_training=False)

    def needs_review(self) -> "DigitQuerySet":
        return self.open().filter(prediction__status=Prediction.Status.DONE)

    def review_queue(self) -> "DigitQuerySet":
        """In the order of their uploads' review queue (a claim on any digit puts its upload
        first), each upload's digits left to right."""
        rank, confidence = _upload_queue_keys("prediction")
        return self.annotate(queue_rank=rank, digits_confidence=confidence).order_by(
            "queue_rank",
            models.F("digits_confidence").asc(nulls_first=True),
            models.F("prediction__created_at").desc(),
            models.F("prediction_id").desc(),
            "position",
        )

    def reviewed(self) -> "DigitQuerySet":
        """Reviewed as one of the digits 0-9 (what accuracy and the confusion count)."""
        return self.filter(true_label__isnull=False, true_label__lte=9)

    def training_usable(self) -> "DigitQuerySet":
        """Reviewed as a digit, not excluded: what retraining and the export use."""
        return self.reviewed().filter(excluded_from_training=False)


class Digit(models.Model):
    """One digit of an upload's reading, left to right: its box, what the model saw and said,
    and every label of it (the owner's claim, the reviewed truth, the exclusion)."""

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

    # The owner's claim ("this is wrong, it is a N"): not training data until staff confirm it.
    user_label = models.PositiveSmallIntegerField(
        null=True, blank=True, choices=Label.choices, validators=label_validators
    )
    user_label_at = models.DateTimeField(null=True, blank=True)
    true_label = models.PositiveSmallIntegerField(
        null=True, blank=True, choices=Label.choices, validators=label_validators
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reviewed_digits",
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    excluded_from_training = models.BooleanField(default=False)

    objects = DigitQuerySet.as_manager()
    # Who changed a label, when, and from what: only the labels are kept per change.
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
