import pytest


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # The real hasher takes about 0.6 s per check on this machine; these tests check many.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
