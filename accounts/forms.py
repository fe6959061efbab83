from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError

EMAIL_HELP = "Optional. Used only to send you a link if you forget your password."
# The column's length (auth.User.email), and the longest address SMTP carries (RFC 5321).
EMAIL_MAX_LENGTH = 254


def email_clean(email: str, *, user: AbstractBaseUser | None) -> str:
    """The one check of an address, at sign-up and on the account page: at most 254 characters,
    the domain in lower case (the local part is kept as typed: a mail server may tell cases
    apart), and no other account's address in any case, so that a reset link reaches one
    account. An empty address (none) is allowed."""
    email = get_user_model().objects.normalize_email(email.strip())
    if not email:
        return ""
    if len(email) > EMAIL_MAX_LENGTH:
        raise ValidationError(
            f"An email address has at most {EMAIL_MAX_LENGTH} characters; this one has "
            f"{len(email)}.",
            code="max_length",
        )
    others = get_user_model().objects.filter(email__iexact=email)
    if user is not None and user.pk is not None:
        others = others.exclude(pk=user.pk)
    if others.exists():
        raise ValidationError(
            "Another account uses this email address. Use another one, or leave it empty.",
            code="email_taken",
        )
    return email


class SignupForm(UserCreationForm):
    class Meta(UserCreationForm.Meta):
        fields = ("username", "email")
        labels = {"email": "Email (optional)"}
        help_texts = {"email": EMAIL_HELP}

    def clean_email(self) -> str:
        return email_clean(self.cleaned_data.get("email") or "", user=None)


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
        label="Email",
        required=False,
        max_length=EMAIL_MAX_LENGTH,
        help_text=EMAIL_HELP + " Leave empty to remove it.",
    )
    field_order = ["email", "password"]

    def clean_email(self) -> str:
        return email_clean(self.cleaned_data.get("email") or "", user=self.user)
