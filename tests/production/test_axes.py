"""Login brute force: 5 failures lock the username and the address for 15 minutes (429)."""

import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-9"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Dozens of password checks here; the production hasher costs about half a second each.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def login(client, username, password, ip="10.0.0.1", **headers):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip, **headers
    )


def test_axes_is_on_with_the_agreed_limits():
    assert settings.AXES_ENABLED
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AXES_COOLOFF_TIME.total_seconds() == 15 * 60
    assert settings.AUTHENTICATION_BACKENDS[0] == "digitsite.auth_backends.AxesBackend"


def test_sixth_login_after_five_failures_is_429_even_with_the_right_password(client, user):
    for _ in range(4):
        assert login(client, "alice", "wrong").status_code == 200
    # The fifth failure starts the lockout and is already answered with it.
    assert login(client, "alice", "wrong").status_code == 429

    response = login(client, "alice", PASSWORD)

    assert response.status_code == 429
    assert "Too many failed login attempts" in response.content.decode()
    assert response["Retry-After"] == "900"
    assert "_auth_user_id" not in client.session


def test_locked_username_is_locked_from_another_address_too(client, user):
    for _ in range(5):
        login(client, "alice", "wrong", ip="10.0.0.1")

    assert login(client, "alice", PASSWORD, ip="10.9.9.9").status_code == 429


def test_other_users_are_not_affected(client, user, other_user):
    for _ in range(5):
        login(client, "alice", "wrong", ip="10.0.0.1")

    response = login(client, "bob", PASSWORD, ip="10.0.0.2")

    assert response.status_code == 302
    assert client.get(reverse("recognizer:history")).status_code == 200


def test_an_address_guessing_many_usernames_is_locked(client, user):
    for name in ["u1", "u2", "u3", "u4", "u5"]:
        login(client, name, "wrong", ip="10.0.0.7")

    assert login(client, "alice", PASSWORD, ip="10.0.0.7").status_code == 429
    assert login(client, "alice", PASSWORD, ip="10.0.0.8").status_code == 302


def test_api_lockout_answers_json(client, user):
    for _ in range(5):
        login(client, "alice", "wrong")

    response = login(client, "alice", PASSWORD, HTTP_ACCEPT="application/json")

    assert response.status_code == 429
    assert response.json()["error"] == "locked_out"


def test_axes_reset_unlocks(client, user):
    for _ in range(5):
        login(client, "alice", "wrong")
    assert login(client, "alice", PASSWORD).status_code == 429

    call_command("axes_reset", verbosity=0)

    assert login(client, "alice", PASSWORD).status_code == 302


def test_logging_into_own_account_does_not_reset_failures_against_others(client, user, other_user):
    for _ in range(4):
        login(client, "alice", "wrong", ip="10.0.0.66")
    assert login(client, "bob", PASSWORD, ip="10.0.0.66").status_code == 302
    client.logout()

    assert login(client, "alice", "wrong", ip="10.0.0.66").status_code == 429
    assert login(client, "alice", PASSWORD, ip="10.0.0.99").status_code == 429


def test_test_client_login_and_force_login_still_work(client, user):
    # Calls without a request have no address to throttle: they pass through to ModelBackend.
    assert client.login(username="alice", password=PASSWORD)
    client.logout()
    client.force_login(user)
    assert client.get(reverse("recognizer:history")).status_code == 200
