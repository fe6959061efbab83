import re

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from recognizer.models import Prediction

from .conftest import named_file

pytestmark = pytest.mark.django_db

LIST = reverse("api:prediction-list")
TOKEN_PAGE = reverse("api_token")


def test_token_page_requires_login(client):
    response = client.get(TOKEN_PAGE)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={TOKEN_PAGE}"


def test_nav_links_to_token_page(client, user):
    client.force_login(user)
    html = client.get(reverse("recognizer:history")).content.decode()
    assert f'href="{TOKEN_PAGE}"' in html


def test_user_creates_a_token_once_and_uses_it(client, user, active_model, digit_png):
    client.force_login(user)
    page = client.get(TOKEN_PAGE)
    assert "You have no token yet" in page.content.decode()

    created = client.post(TOKEN_PAGE, {"action": "create"})
    # Post/redirect/get: a reload after creating never posts again.
    assert created.status_code == 302
    response = client.get(TOKEN_PAGE)
    assert response["Cache-Control"].startswith("max-age=0")
    key = re.search(r'data-testid="token-key">([0-9a-f]{40})<', response.content.decode())[1]
    assert Token.objects.get(user=user).key == key
    # Shown once: the page never displays it again.
    assert key not in client.get(TOKEN_PAGE).content.decode()

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    created = api.post(LIST, {"image": named_file(digit_png)}, "multipart")
    assert created.status_code == 201
    assert Prediction.objects.get().owner == user


def test_new_token_replaces_the_old_one(client, user):
    client.force_login(user)
    client.post(TOKEN_PAGE, {"action": "create"})
    old = Token.objects.get(user=user).key
    client.post(TOKEN_PAGE, {"action": "create", "replace": "yes"})
    new = Token.objects.get(user=user).key

    assert new != old
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {old}")
    assert api.get(LIST).status_code == 401


def test_revoked_token_stops_working(client, user):
    key = Token.objects.create(user=user).key
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get(LIST).status_code == 200

    client.force_login(user)
    response = client.post(TOKEN_PAGE, {"action": "revoke"}, follow=True)

    assert "revoked" in response.content.decode()
    assert not Token.objects.filter(user=user).exists()
    assert api.get(LIST).status_code == 401


def test_token_page_refuses_unknown_action(client, user):
    client.force_login(user)
    assert client.post(TOKEN_PAGE, {"action": "steal"}).status_code == 400
    assert not Token.objects.filter(user=user).exists()


def test_token_page_post_needs_csrf(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.post(TOKEN_PAGE, {"action": "create"}).status_code == 403
    assert not Token.objects.filter(user=user).exists()


def test_drf_create_token_command(user, capsys):
    call_command("drf_create_token", user.username)
    key = Token.objects.get(user=user).key
    assert key in capsys.readouterr().out


def test_token_of_inactive_user_is_refused(user):
    key = Token.objects.create(user=user).key
    user.is_active = False
    user.save()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get(LIST).status_code == 401


def test_session_auth_reads_without_csrf(user, active_model):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.get(LIST)
    assert response.status_code == 200
    assert response.json()["count"] == 0


def test_session_auth_write_needs_csrf_token(user, active_model, digit_png):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)

    refused = client.post(LIST, {"image": named_file(digit_png)})
    assert refused.status_code == 403
    assert refused.json()["error"] == "permission_denied"
    assert "CSRF" in refused.json()["detail"]
    assert Prediction.objects.count() == 0

    # The site's JavaScript sends the csrftoken cookie back in the X-CSRFToken header.
    client.get(reverse("recognizer:upload"))
    csrf = client.cookies["csrftoken"].value
    accepted = client.post(LIST, {"image": named_file(digit_png)}, HTTP_X_CSRFTOKEN=csrf)
    assert accepted.status_code == 201
    assert Prediction.objects.get().owner == user


def test_token_requests_need_no_csrf(user, active_model, digit_png):
    key = Token.objects.create(user=user).key
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        LIST, {"image": named_file(digit_png)}, HTTP_AUTHORIZATION=f"Token {key}"
    )
    assert response.status_code == 201
