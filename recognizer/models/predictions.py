"""An upload: its files, how it was sent and read, and what it says, derived from its digits."""

import math
import uuid

import numpy as np
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from .choices import Label, UploadStatus
from .digits import Digit, upload_queue_keys
from .model_versions import ModelVersion


def prediction_upload_to(instance: "Prediction", filename: str) -> str:
    # The user's filename never reaches the filesystem: it is kept only as display text.
    now = timezone.now()
    return f"uploads/{now:%Y/%m}/{uuid.uuid4().hex}.png"


def prediction_thumbnail_to(instance: "Prediction", filename: str) -> str:
    now = timezone.now()
    return f"thumbnails/{now:%Y/%m}/{uuid.uuid4().hex}.png"


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
        rank, confidence = upload_queue_keys("pk")
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
        rank, confidence = upload_queue_keys("pk")
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

    Status = UploadStatus

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
    personal_corrections = models.PositiveIntegerField(
        default=0, help_text="How many of the owner's corrections the reading used (0: none)."
    )

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
    def model_text(self) -> str:
        """What the model alone read, when the owner's corrections were used; else empty."""
        rows = self.digit_rows
        if not rows or any(d.model_digit is None for d in rows):
            return ""
        return "".join(str(d.model_digit) for d in rows)

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
