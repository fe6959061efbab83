"""A prediction as JSON: one shape for the API, the drawing pad and the review screen."""

from django.urls import reverse
from rest_framework import serializers

from .models import Prediction


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
        help_text="The 28x28 image the model saw, as a PNG."
    )
    reviewed = serializers.BooleanField(source="is_reviewed", read_only=True)

    class Meta:
        model = Prediction
        fields = [
            "id",
            "url",
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
        ]
        read_only_fields = fields
        extra_kwargs = {
            "digit": {"help_text": "The predicted digit; null while pending or if it failed."},
            "confidence": {"help_text": "Probability of the predicted digit, 0 to 1."},
            "low_confidence": {"help_text": "True when the confidence is below 0.5."},
            "error_message": {"help_text": "Why the prediction failed (status failed)."},
            "user_label": {"help_text": "The owner's claim of the right digit (feedback)."},
            "true_label": {"help_text": "The digit confirmed by staff; null until reviewed."},
            "excluded_from_training": {"help_text": "Staff marked it junk: never training data."},
        }

    def get_page_url(self, prediction: Prediction) -> str:
        return reverse("recognizer:detail", args=[prediction.pk])

    def get_model_input_url(self, prediction: Prediction) -> str:
        return reverse("recognizer:model_input", args=[prediction.pk])
