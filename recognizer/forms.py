from django import forms
from django.core.validators import RegexValidator

from .ids import POSITION_MAX
from .models import DIGIT_CHOICES, Label, Prediction


class UploadForm(forms.Form):
    image = forms.FileField(
        label="Image of a handwritten digit or number",
        help_text="PNG, JPEG, WebP, GIF, BMP or TIFF, up to 5 MB.",
        error_messages={
            "required": "Choose an image file to upload.",
            "empty": "The file you chose is empty.",
        },
    )
    mode = forms.ChoiceField(
        choices=Prediction.Mode.choices,
        required=False,
        label="Read it as",
        error_messages={"invalid_choice": "Choose auto, digit or number."},
    )

    def clean_mode(self) -> str:
        return self.cleaned_data.get("mode") or Prediction.Mode.AUTO


class HistoryFilterForm(forms.Form):
    REVIEWED_CHOICES = [("", "All"), ("yes", "Reviewed"), ("no", "Not reviewed")]

    digit = forms.TypedChoiceField(
        choices=[("", "Any digit"), *DIGIT_CHOICES],
        coerce=int,
        empty_value=None,
        required=False,
        label="Predicted digit",
    )
    reviewed = forms.ChoiceField(choices=REVIEWED_CHOICES, required=False, label="Review")
    text = forms.CharField(
        max_length=32,
        required=False,
        label="Number contains",
        validators=[RegexValidator(r"^[0-9]*$", "Type digits only, like 42.")],
    )

    def clean_text(self) -> str | None:
        return self.cleaned_data.get("text") or None

    def clean_reviewed(self) -> bool | None:
        return {"yes": True, "no": False}.get(self.cleaned_data.get("reviewed"))


class FeedbackForm(forms.Form):
    position = forms.IntegerField(
        min_value=0, max_value=POSITION_MAX, required=False, widget=forms.HiddenInput
    )
    # No digit is chosen for the owner: a default would be sent by anyone who only meant to look.
    label = forms.TypedChoiceField(
        choices=[("", "Choose…"), *DIGIT_CHOICES, (Label.NOT_A_DIGIT.value, "It isn't a digit")],
        coerce=int,
        empty_value=None,
        label="It really is",
        error_messages={
            "required": "Choose the digit it really is.",
            "invalid_choice": "Choose a digit from 0 to 9, or that it isn't a digit.",
        },
    )


MAX_BATCH_FILES = 20


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """A FileField that cleans every file of a `multiple` input (Django's documented recipe)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if isinstance(data, (list, tuple)) and data:
            return [super(MultipleFileField, self).clean(item, initial) for item in data]
        return [super().clean(data, initial)]


class BatchUploadForm(forms.Form):
    images = MultipleFileField(
        label="Images, one digit or number in each",
        help_text=f"Up to {MAX_BATCH_FILES} images, each up to 5 MB. If one is not usable, "
        "none is stored and we say which.",
        error_messages={
            "required": "Choose one or more image files to upload.",
            "empty": "One of the files you chose is empty.",
        },
    )

    def clean_images(self) -> list:
        files = self.cleaned_data["images"]
        if len(files) > MAX_BATCH_FILES:
            raise forms.ValidationError(
                f"Choose at most {MAX_BATCH_FILES} images at a time; you chose {len(files)}."
            )
        return files
