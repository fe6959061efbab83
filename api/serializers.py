from rest_framework import serializers

from recognizer.ids import POSITION_MAX
from recognizer.models import LABEL_RULE, Label, ModelVersion, Prediction
from recognizer.review import DECISIONS
from recognizer.serializers import PredictionSerializer  # noqa: F401 - the API's too

from .exceptions import ApiError

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


class PredictionUploadSerializer(serializers.Serializer):
    """One file in `image`, or 1 to 20 files in `images` (the field repeated)."""

    # Empty files pass here so that the image checks refuse them with their own sentence.
    image = serializers.FileField(
        required=False, allow_empty_file=True, help_text="One image: answered with one prediction."
    )
    images = serializers.ListField(
        child=serializers.FileField(allow_empty_file=True),
        required=False,
        min_length=1,
        help_text=(
            f"Up to {MAX_BATCH_FILES} images (repeat the field): answered with a list, in order. "
            "All or nothing: if any file is refused, nothing is stored."
        ),
    )
    mode = serializers.ChoiceField(
        choices=Prediction.Mode.values,
        default=Prediction.Mode.AUTO,
        error_messages={"invalid_choice": "The mode must be one of: auto, digit, number."},
        help_text=(
            "auto (default): one digit or a number, whatever the image holds; digit: read it as "
            "exactly one digit; number: cut it into digits, however many."
        ),
    )

    def validate(self, attrs):
        # The counts come from the raw form: `image` given twice would otherwise keep only one.
        single = _count(self.initial_data, "image")
        batch = _count(self.initial_data, "images")
        if single and batch:
            raise ApiError("invalid", "Send one file in `image` or several in `images`, not both.")
        if single > 1:
            raise ApiError(
                "too_many_files",
                f"`image` takes one file; send up to {MAX_BATCH_FILES} files in `images` instead.",
            )
        if batch > MAX_BATCH_FILES:
            raise ApiError(
                "too_many_files",
                f"A batch holds at most {MAX_BATCH_FILES} files; this one has {batch}.",
            )
        if not attrs.get("image") and not attrs.get("images"):
            raise ApiError(
                "missing_field",
                "Send the image as a file in the multipart field `image` "
                f"(or up to {MAX_BATCH_FILES} files in `images`).",
            )
        return attrs


def _count(data, name: str) -> int:
    return len(data.getlist(name)) if hasattr(data, "getlist") else int(name in data)


class PredictionFilterSerializer(serializers.Serializer):
    digit = serializers.IntegerField(
        required=False, min_value=0, max_value=9, help_text="Only this predicted digit."
    )
    reviewed = serializers.BooleanField(
        required=False, help_text="true: only reviewed by staff; false: only not yet reviewed."
    )
    text = serializers.RegexField(
        r"^[0-9]{1,32}$",
        required=False,
        help_text="Only readings whose text contains these digits.",
        error_messages={"invalid": "Digits only."},
    )


class FeedbackSerializer(serializers.Serializer):
    label = serializers.IntegerField(
        min_value=0,
        max_value=Label.NOT_A_DIGIT.value,
        help_text="The digit the image really shows at `position`, or 10: it is not a digit.",
    )
    position = serializers.IntegerField(
        min_value=0,
        max_value=POSITION_MAX,
        required=False,
        help_text="Which digit is wrong, 0 for the leftmost; may be left out when one digit "
        "was read.",
    )


class DecisionSerializer(serializers.Serializer):
    action = serializers.ChoiceField(
        choices=DECISIONS,
        error_messages={"invalid_choice": f"The action must be one of: {', '.join(DECISIONS)}."},
        help_text=(
            "label: set `label` as the true digit; confirm: the model was right; accept_claim: "
            "the owner's claim is right; exclude: junk, never training data."
        ),
    )
    label = serializers.IntegerField(
        min_value=0,
        max_value=Label.NOT_A_DIGIT.value,
        required=False,
        help_text="With action label: the true digit, or 10: it is not a digit.",
        error_messages={key: LABEL_RULE for key in ("invalid", "min_value", "max_value")},
    )

    position = serializers.IntegerField(
        min_value=0,
        max_value=POSITION_MAX,
        required=False,
        help_text="Which digit of the upload, 0 for the leftmost; may be left out when one "
        "digit was read. exclude applies to the whole upload.",
    )

    def validate(self, attrs):
        if attrs["action"] == "label" and "label" not in attrs:
            raise serializers.ValidationError({"label": LABEL_RULE})
        return attrs


class ReviewSerializer(serializers.Serializer):
    true_label = serializers.IntegerField(
        min_value=0,
        max_value=Label.NOT_A_DIGIT.value,
        allow_null=True,
        help_text="The confirmed digit (10: not a digit), or null to clear the review.",
    )


class ModelVersionSerializer(serializers.ModelSerializer):
    """A model version as every signed-in user sees it: what it is and how well it reads."""

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

    class Meta:
        model = ModelVersion
        fields = ["version", "status", "is_active", "created_at", "params", "metrics", "parent"]
        read_only_fields = fields


class ModelVersionStaffSerializer(ModelVersionSerializer):
    """Plus the internals, for staff who may view model versions: checksums, what it was trained
    and tested on (other users' prediction ids), and who promoted it."""

    heldout_metrics = serializers.DictField(
        read_only=True, help_text="Metrics on held-out reviewed uploads, when measured."
    )
    training_data = serializers.DictField(read_only=True, help_text="What it was trained on.")

    class Meta(ModelVersionSerializer.Meta):
        fields = [
            *ModelVersionSerializer.Meta.fields,
            "heldout_metrics",
            "training_data",
            "sha256",
            "status_note",
        ]
        read_only_fields = fields
