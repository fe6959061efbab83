import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token

from accounts import services

pytestmark = pytest.mark.django_db


def _create(client, **extra):
    return client.post(reverse("api_token"), {"action": "create", **extra})


def test_creating_a_token_redirects_and_shows_the_key_once(client, user):
    client.force_login(user)

    response = _create(client)

    assert response.status_code == 302
    assert response["Location"] == reverse("api_token")
    key = Token.objects.get(user=user).key
    first = client.get(reverse("api_token")).content.decode()
    again = client.get(reverse("api_token")).content.decode()
    assert key in first
    assert key not in again
    assert Token.objects.get(user=user).key == key


def test_new_key_page_has_a_copy_button_and_its_script(client, user):
    client.force_login(user)
    _create(client)

    page = client.get(reverse("api_token")).content.decode()

    assert 'data-testid="token-copy"' in page
    assert 'data-copy-target="new-token-key"' in page
    assert 'id="new-token-key"' in page
    assert "js/copy.js" in page


def test_replacing_a_token_asks_for_confirmation_first(client, user):
    old = services.api_token_create(user=user)
    client.force_login(user)

    response = _create(client)

    assert response.status_code == 302
    assert response["Location"] == reverse("api_token_replace")
    assert Token.objects.get(user=user).key == old.key
    confirm = client.get(reverse("api_token_replace")).content.decode()
    assert 'name="replace" value="yes"' in confirm


def test_confirmed_replacement_makes_a_new_token(client, user):
    old = services.api_token_create(user=user)
    client.force_login(user)

    response = _create(client, replace="yes")

    assert response.status_code == 302
    new = Token.objects.get(user=user)
    assert new.key != old.key
    assert new.key in client.get(reverse("api_token")).content.decode()


def test_token_page_links_to_the_confirmation_when_a_token_exists(client, user):
    services.api_token_create(user=user)
    client.force_login(user)

    page = client.get(reverse("api_token")).content.decode()

    assert f'href="{reverse("api_token_replace")}"' in page


def test_revoke_removes_the_token(client, user):
    services.api_token_create(user=user)
    client.force_login(user)

    response = client.post(reverse("api_token"), {"action": "revoke"})

    assert response.status_code == 302
    assert not Token.objects.filter(user=user).exists()


def test_account_pages_have_no_inline_code_the_csp_would_block(client, user, settings):
    from tests.production.test_csp import inline_code

    settings.PASSWORD_RESET_ENABLED = True
    anonymous = [reverse("password_reset"), reverse("password_reset_done")]
    pages = [(url, client.get(url)) for url in anonymous]
    client.force_login(user)
    _create(client)
    for url in [
        reverse("api_token"),
        reverse("api_token_replace"),
        reverse("account"),
        reverse("account_delete"),
    ]:
        pages.append((url, client.get(url)))

    for url, response in pages:
        assert response.status_code == 200, url
        assert "Content-Security-Policy" in response, url
        assert inline_code(response.content.decode()) == [], url
