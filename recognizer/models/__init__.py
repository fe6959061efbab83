"""The recognizer's models, one module per subject; everything is importable from here."""

from .choices import (
    DIGIT_CHOICES,
    LABEL_RULE,
    Label,
    UploadStatus,
    digit_validators,
    label_validators,
)
from .digits import Digit, DigitQuerySet, upload_queue_keys
from .model_versions import ModelVersion, ModelVersionQuerySet
from .operations import RateBudget, TrainingRun
from .personal import PersonalReading
from .predictions import (
    REVIEW_QUEUE_ORDERING,
    Prediction,
    PredictionQuerySet,
    prediction_thumbnail_to,
    prediction_upload_to,
)

__all__ = [
    "DIGIT_CHOICES",
    "LABEL_RULE",
    "REVIEW_QUEUE_ORDERING",
    "Digit",
    "DigitQuerySet",
    "Label",
    "ModelVersion",
    "ModelVersionQuerySet",
    "PersonalReading",
    "Prediction",
    "PredictionQuerySet",
    "RateBudget",
    "TrainingRun",
    "UploadStatus",
    "digit_validators",
    "label_validators",
    "prediction_thumbnail_to",
    "prediction_upload_to",
    "upload_queue_keys",
]
