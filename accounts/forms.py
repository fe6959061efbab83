from django import forms
from django.contrib.auth.forms import UserCreationForm
from django.core.exceptions import ValidationError

EMAIL_HELP = "Optional. Used only to send you a link if you forget your password."


class SignupForm(UserCreationForm):
    class Meta(UserCreationForm.Meta):
        fields = ("username", "email")
        labels = {"email": "Email (optional)"}
        help_texts = {"email": EMAIL_HELP}


class PasswordConfirmForm(forms.Form):
    """Asks for the user's current password before an account change a stolen session must not
    make on its own (a new email receives reset links; deleting is final)."""

    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args, user, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise ValidationError(
                "Your password was entered incorrectly. Please enter it again.",
                code="password_incorrect",
            )
        return password


class EmailChangeForm(PasswordConfirmForm):
    email = forms.EmailField(
        label="Email", required=False, help_text=EMAIL_HELP + " Leave empty to remove it."
    )
    field_order = ["email", "password"]
