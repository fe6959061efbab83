from django import forms

from .models import DIGIT_CHOICES


class UploadForm(forms.Form):
    image = forms.FileField(
        label="Image of a handwritten digit",
        help_text="PNG, JPEG, WebP, GIF, BMP or TIFF, up to 5 MB.",
        error_messages={
            "required": "Choose an image file to upload.",
            "empty": "The file you chose is empty.",
        },
    )


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

    def clean_reviewed(self) -> bool | None:
        return {"yes": True, "no": False}.get(self.cleaned_data.get("reviewed"))


class FeedbackForm(forms.Form):
    label = forms.TypedChoiceField(
        choices=DIGIT_CHOICES,
        coerce=int,
        label="It is actually a",
        error_messages={
            "required": "Choose the digit it really is.",
            "invalid_choice": "Choose a digit from 0 to 9.",
        },
    )
