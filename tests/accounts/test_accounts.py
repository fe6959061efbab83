import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_signup_creates_user_and_logs_in(client):
    response = client.post(
        reverse("signup"),
        {"username": "carol", "password1": "a-Strong-pass-123", "password2": "a-Strong-pass-123"},
    )

    assert response.status_code == 302
    assert get_user_model().objects.filter(username="carol").exists()
    assert 'name="image"' in client.get(reverse("recognizer:upload")).content.decode()


def test_signup_applies_password_validators(client):
    response = client.post(
        reverse("signup"), {"username": "dave", "password1": "123", "password2": "123"}
    )

    assert response.status_code == 400
    assert not get_user_model().objects.filter(username="dave").exists()
    assert "too short" in response.content.decode()


def test_login_and_logout(client, user):
    response = client.post(reverse("login"), {"username": "alice", "password": "correct-horse-9"})
    assert response.status_code == 302
    assert client.get(reverse("recognizer:history")).status_code == 200

    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("recognizer:history")).status_code == 302


def test_password_change(client, user):
    client.force_login(user)
    response = client.post(
        reverse("password_change"),
        {
            "old_password": "correct-horse-9",
            "new_password1": "another-Strong-456",
            "new_password2": "another-Strong-456",
        },
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("another-Strong-456")
