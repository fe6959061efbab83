"""Writes for accounts: the API token a user creates and revokes on /accounts/token/."""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from rest_framework.authtoken.models import Token


def api_token_create(*, user: AbstractBaseUser) -> Token:
    """A new token for the user; any previous one stops working at once."""
    with transaction.atomic():
        Token.objects.filter(user=user).delete()
        return Token.objects.create(user=user)


def api_token_revoke(*, user: AbstractBaseUser) -> bool:
    deleted, _ = Token.objects.filter(user=user).delete()
    return deleted > 0
