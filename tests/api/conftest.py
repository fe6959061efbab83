import io

import pytest
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient


@pytest.fixture(autouse=True)
def _fresh_throttle_cache():
    # Throttle history lives in the cache; every test starts with a clean budget.
    cache.clear()
    yield
    cache.clear()


def token_client(user) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def alice(user):
    return token_client(user)


@pytest.fixture
def bob(other_user):
    return token_client(other_user)


@pytest.fixture
def staff(staff_user):
    return token_client(staff_user)


def named_file(data: bytes, name: str = "digit.png") -> io.BytesIO:
    file = io.BytesIO(data)
    file.name = name
    return file
