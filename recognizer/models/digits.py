"""One read digit of an upload, with every label of it, and the review queue built from them."""

import numpy as np
from django.conf import settings
from django.db import models
from django.db.models.functions import Exp, Greatest, Ln
from simple_history.models import HistoricalRecords

from .choices import DIGIT_CHOICES, Label, UploadStatus, digit_validators, label_validators


def upload_queue_keys(upload: str) -> tuple[models.Case, models.Subquery]:
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


class DigitQuerySet(models.QuerySet):
    def for_user(self, user) -> "DigitQuerySet":
        if user.has_perm("recognizer.view_prediction"):
            return self
        return self.filter(prediction__owner=user)

    def open(self) -> "DigitQuerySet":
        """Neither reviewed nor excluded."""
        return self.filter(true_label__isnull=True, excluded_from_training=False)

    def needs_review(self) -> "DigitQuerySet":
        return self.open().filter(prediction__status=UploadStatus.DONE)

    def review_queue(self) -> "DigitQuerySet":
        """In the order of their uploads' review queue (a claim on any digit puts its upload
        first), each upload's digits left to right."""
        rank, confidence = upload_queue_keys("prediction")
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

    prediction = models.ForeignKey(
        "recognizer.Prediction", on_delete=models.CASCADE, related_name="digits"
    )
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
    # What the model alone read here, when the owner's corrections were used (null otherwise).
    model_digit = models.PositiveSmallIntegerField(
        null=True, blank=True, choices=DIGIT_CHOICES, validators=digit_validators
    )
    model_probabilities = models.JSONField(null=True, blank=True)

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
