from unittest import mock

import pytest
from django.core.management import call_command
from django.urls import reverse
from rest_framework.authtoken.models import Token

from accounts import services

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "another-Strong-456"


@pytest.fixture
def token(user):
    return services.api_token_create(user=user)


def test_admin_token_list_names_the_user_but_never_shows_the_key(client, staff_user, token):
    client.force_login(staff_user)

    response = client.get(reverse("admin:accounts_apitoken_changelist"))

    assert response.status_code == 200
    assert "alice" in response.content.decode()
    assert token.key not in response.content.decode()


def test_drf_token_admin_that_lists_keys_is_gone(client, staff_user, token):
    client.force_login(staff_user)

    response = client.get("/admin/authtoken/tokenproxy/")

    assert response.status_code == 404


def test_admin_view_and_delete_pages_never_show_the_key(client, staff_user, user, token):
    client.force_login(staff_user)

    view = client.get(reverse("admin:accounts_apitoken_change", args=[user.pk]))
    confirm = client.get(reverse("admin:accounts_apitoken_delete", args=[user.pk]))
    user_delete = client.get(reverse("admin:auth_user_delete", args=[user.pk]))

    for response in (view, confirm, user_delete):
        assert response.status_code == 200
        assert token.key not in response.content.decode()
    assert "API token of alice" in confirm.content.decode()


def test_staff_can_delete_a_token_in_the_admin(client, staff_user, user, token):
    client.force_login(staff_user)

    response = client.post(
        reverse("admin:accounts_apitoken_delete", args=[user.pk]), {"post": "yes"}
    )

    assert response.status_code == 302
    assert not Token.objects.filter(user=user).exists()
    follow = client.get(response["Location"])
    assert token.key not in follow.content.decode()


def test_admin_cannot_add_a_token(client, staff_user):
    client.force_login(staff_user)

    response = client.get(reverse("admin:accounts_apitoken_add"))

    assert response.status_code == 403


def test_password_change_view_revokes_tokens(client, user, token):
    client.force_login(user)

    client.post(
        reverse("password_change"),
        {
            "old_password": "correct-horse-9",
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )

    assert not Token.objects.filter(user=user).exists()


def test_admin_password_change_revokes_tokens(client, staff_user, user, token):
    client.force_login(staff_user)

    response = client.post(
        reverse("admin:auth_user_password_change", args=[user.pk]),
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )

    assert response.status_code == 302
    assert not Token.objects.filter(user=user).exists()


def test_changepassword_command_revokes_tokens(user, token):
    with mock.patch("getpass.getpass", return_value=NEW_PASSWORD):
        call_command("changepassword", "alice")

    assert not Token.objects.filter(user=user).exists()


def test_saving_a_user_without_a_new_password_keeps_tokens(client, user, token):
    user.email = "alice@example.com"
    user.save()
    client.post(reverse("login"), {"username": "alice", "password": "correct-horse-9"})

    assert Token.objects.filter(user=user, key=token.key).exists()


def test_api_rejects_the_old_token_after_a_password_change(client, user, token):
    user.set_password(NEW_PASSWORD)
    user.save()

    response = client.get(reverse("api:prediction-list"), HTTP_AUTHORIZATION=f"Token {token.key}")

    assert response.status_code == 401
