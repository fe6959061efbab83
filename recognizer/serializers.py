"""A prediction as JSON: one shape for the API, the drawing pad and the review screen."""

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .models import Digit, Prediction


class DigitSerializer(serializers.ModelSerializer):
    box = serializers.ListField(
        child=serializers.IntegerField(),
        min_length=4,
        max_length=4,
        read_only=True,
        help_text="x0, y0, x1, y1 of the digit's ink in the stored image's pixels (x1, y1 "
        "exclusive).",
    )
    probabilities = serializers.ListField(
        child=serializers.FloatField(),
        min_length=10,
        max_length=10,
        read_only=True,
        help_text="The probability of each digit 0-9 at this position.",
    )
    model_input_url = serializers.SerializerMethodField(
        help_text="The 28x28 image the model saw for this digit, as a PNG."
    )
    model_probabilities = serializers.ListField(
        child=serializers.FloatField(),
        min_length=10,
        max_length=10,
        allow_null=True,
        read_only=True,
        help_text="What the model alone gave each digit 0-9 here, when the owner's corrections "
        "were used to read it (see the upload's personal_corrections); null otherwise.",
    )

    class Meta:
        model = Digit
        fields = [
            "position",
            "box",
            "digit",
            "confidence",
            "probabilities",
            "low_confidence",
            "user_label",
            "true_label",
            "excluded_from_training",
            "model_input_url",
            "model_digit",
            "model_probabilities",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "position": {"help_text": "0 is the leftmost digit."},
            "confidence": {"help_text": "Probability of this digit, 0 to 1."},
            "user_label": {"help_text": "The owner's claim of the right digit here."},
            "true_label": {"help_text": "The digit confirmed by staff; null until reviewed."},
            "excluded_from_training": {"help_text": "Staff marked it junk: never training data."},
            "model_digit": {
                "help_text": "What the model alone read here, when the owner's corrections were "
                "used to read it; null otherwise."
            },
        }

    def get_model_input_url(self, digit: Digit) -> str:
        return reverse("recognizer:digit_input", args=[digit.prediction_id, digit.position])


class PredictionSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:prediction-detail")
    image_url = serializers.HyperlinkedIdentityField(view_name="api:prediction-image")
    probabilities = serializers.ListField(
        child=serializers.FloatField(),
        min_length=10,
        max_length=10,
        allow_null=True,
        read_only=True,
        help_text="The probability of each digit 0-9; null until predicted.",
    )
    model_version = serializers.SlugRelatedField(
        slug_field="version",
        read_only=True,
        allow_null=True,
        help_text="The model version that predicted it; null until predicted.",
    )
    owner = serializers.CharField(source="owner.get_username", read_only=True)
    page_url = serializers.SerializerMethodField(help_text="The prediction's page on the site.")
    model_input_url = serializers.SerializerMethodField(
        help_text="The 28x28 image the model saw, as a PNG, when one digit was read; null for a "
        "number (see each digit's) or before it is read."
    )
    reviewed = serializers.BooleanField(source="is_reviewed", read_only=True)
    # Derived from the digits: for a one-digit upload, its one digit's.
    digit = serializers.IntegerField(
        read_only=True,
        allow_null=True,
        help_text="The predicted digit when one digit was read; null for a number, while "
        "pending, or if it failed.",
    )
    confidence = serializers.FloatField(
        read_only=True,
        allow_null=True,
        help_text="Probability of the reading, 0 to 1: for a number, the product of its digits'.",
    )
    low_confidence = serializers.BooleanField(
        read_only=True, help_text="True when any digit's confidence is below 0.5."
    )
    user_label = serializers.IntegerField(
        read_only=True,
        allow_null=True,
        help_text="The owner's claim of the right digit (feedback), when one digit was read.",
    )
    true_label = serializers.IntegerField(
        read_only=True,
        allow_null=True,
        help_text="The digit confirmed by staff when one digit was read; null until reviewed.",
    )
    excluded_from_training = serializers.BooleanField(
        read_only=True, help_text="Staff marked it junk: never training data."
    )
    reviewed_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="When a reviewer last decided on it."
    )
    model_text = serializers.CharField(
        read_only=True,
        help_text="What the model alone read, when the owner's corrections were used (it may "
        "equal text); empty otherwise.",
    )
    digits = DigitSerializer(
        many=True, read_only=True, help_text="Each digit read, left to right; empty until read."
    )

    class Meta:
        model = Prediction
        fields = [
            "id",
            "url",
            "text",
            "mode",
            "digits",
            "digit",
            "confidence",
            "probabilities",
            "low_confidence",
            "status",
            "error_message",
            "model_version",
            "created_at",
            "image_url",
            "page_url",
            "model_input_url",
            "original_filename",
            "source",
            "owner",
            "user_label",
            "true_label",
            "reviewed",
            "excluded_from_training",
            "reviewed_at",
            "personal_corrections",
            "model_text",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "personal_corrections": {
                "help_text": "How many of the owner's own corrections were used to read it (0: "
                "the model alone read it). Only the owner's corrections ever count."
            },
            "text": {"help_text": 'What was read, leading zeros kept ("042"); empty until read.'},
            "mode": {"help_text": "What the image was asked to be read as."},
            "error_message": {"help_text": "Why the prediction failed (status failed)."},
        }

    def get_page_url(self, prediction: Prediction) -> str:
        return reverse("recognizer:detail", args=[prediction.pk])

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_model_input_url(self, prediction: Prediction) -> str | None:
        if prediction.one_digit is None:
            return None
        return reverse("recognizer:model_input", args=[prediction.pk])
