"""Writes for accounts: API tokens, the email address, and deleting an account."""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from rest_framework.authtoken.models import Token

from recognizer.models import Digit, Prediction
from recognizer.predictions import prediction_delete


def api_token_create(*, user: AbstractBaseUser) -> Token:
    """A new token for the user; any previous one stops working at once."""
    with transaction.atomic():
        Token.objects.filter(user=user).delete()
        return Token.objects.create(user=user)


def api_token_revoke(*, user: AbstractBaseUser) -> bool:
    deleted, _ = Token.objects.filter(user=user).delete()
    return deleted > 0


def user_email_set(*, user: AbstractBaseUser, email: str) -> AbstractBaseUser:
    user.email = email
    user.save(update_fields=["email"])
    return user


def account_delete(*, user: AbstractBaseUser) -> None:
    """Delete the user, their predictions with the label history of each, and the image files.

    One transaction: the files go only once the rows are gone for good (prediction_delete removes
    them on commit), so a failure part-way keeps everything.
    """
    with transaction.atomic():
        uploads = list(Prediction.objects.owned_by(user).values_list("pk", flat=True))
        for prediction in Prediction.objects.filter(pk__in=uploads).iterator():
            prediction_delete(prediction=prediction)
        # Deleting a digit records a last history row; the label history is theirs too.
        Digit.history.filter(prediction_id__in=uploads).delete()
        user.delete()
