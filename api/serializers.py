from rest_framework import serializers

from recognizer.models import ModelVersion, Prediction

MAX_BATCH_FILES = 20


class ErrorSerializer(serializers.Serializer):
    error = serializers.CharField(
        help_text="Machine-readable code, e.g. not_an_image, too_large, missing_field, not_found."
    )
    detail = serializers.CharField(help_text="A sentence for people.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Validation errors only: messages per field.",
    )
    index = serializers.IntegerField(
        required=False, help_text="Batch uploads only: the 0-based position of the refused file."
    )
    filename = serializers.CharField(
        required=False, help_text="Batch uploads only: the name of the refused file."
    )


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
            "original_filename",
            "source",
            "owner",
            "user_label",
            "true_label",
            "reviewed",
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
        }


class PredictionUploadSerializer(serializers.Serializer):
    """One file in `image`, or 1 to 20 files in `images` (the field repeated)."""

    image = serializers.FileField(
        required=False, help_text="One image: answered with one prediction."
    )
    images = serializers.ListField(
        child=serializers.FileField(),
        required=False,
        min_length=1,
        max_length=MAX_BATCH_FILES,
        help_text=(
            f"Up to {MAX_BATCH_FILES} images (repeat the field): answered with a list, in order. "
            "All or nothing: if any file is refused, nothing is stored."
        ),
    )


class PredictionFilterSerializer(serializers.Serializer):
    digit = serializers.IntegerField(
        required=False, min_value=0, max_value=9, help_text="Only this predicted digit."
    )
    reviewed = serializers.BooleanField(
        required=False, help_text="true: only reviewed by staff; false: only not yet reviewed."
    )


class FeedbackSerializer(serializers.Serializer):
    label = serializers.IntegerField(
        min_value=0, max_value=9, help_text="The digit the image really shows."
    )


class ReviewSerializer(serializers.Serializer):
    true_label = serializers.IntegerField(
        min_value=0,
        max_value=9,
        allow_null=True,
        help_text="The confirmed digit, or null to clear the review.",
    )


class ModelVersionSerializer(serializers.ModelSerializer):
    parent = serializers.SlugRelatedField(
        slug_field="version",
        read_only=True,
        allow_null=True,
        help_text="The version it was retrained from, if any.",
    )
    is_active = serializers.BooleanField(read_only=True)
    params = serializers.DictField(read_only=True, help_text="Training parameters.")
    metrics = serializers.DictField(
        read_only=True, help_text="Metrics on the MNIST test set (accuracy, per class, ...)."
    )
    heldout_metrics = serializers.DictField(
        read_only=True, help_text="Metrics on held-out reviewed uploads, when measured."
    )
    training_data = serializers.DictField(read_only=True, help_text="What it was trained on.")

    class Meta:
        model = ModelVersion
        fields = [
            "version",
            "status",
            "is_active",
            "created_at",
            "params",
            "metrics",
            "heldout_metrics",
            "training_data",
            "parent",
            "sha256",
            "status_note",
        ]
        read_only_fields = fields
