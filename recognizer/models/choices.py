"""The value sets shared by the models: digits, labels, an upload's status."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

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


# Said wherever a label is refused: the API, the services and the forms.
LABEL_RULE = "A label is a digit from 0 to 9, or 10 for “not a digit”."
label_validators = [MinValueValidator(0), MaxValueValidator(Label.NOT_A_DIGIT)]


class UploadStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
