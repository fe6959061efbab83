import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse
from rest_framework.authtoken.models import Token

from accounts import services

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "another-Strong-456"


@pytest.fixture
def reset_on(settings):
    settings.PASSWORD_RESET_ENABLED = True


@pytest.fixture
def alice_with_email(user):
    return services.user_email_set(user=user, email="alice@example.com")


def _reset_link() -> str:
    [message] = mail.outbox
    return re.search(r"https?://[^/\s]+(/accounts/reset/\S+/)", message.body).group(1)


def test_reset_mail_is_branded_and_has_a_link(client, reset_on, alice_with_email):
    response = client.post(reverse("password_reset"), {"email": "alice@example.com"})

    assert response.status_code == 302
    [message] = mail.outbox
    assert message.to == ["alice@example.com"]
    assert message.subject == "Digits: choose a new password"
    assert "Digits" in message.body
    assert "alice" in message.body
    assert _reset_link()


def test_reset_pages_use_the_site_look(client, reset_on):
    for url in (reverse("password_reset"), reverse("password_reset_done")):
        page = client.get(url).content.decode()
        assert "Django administration" not in page
        assert 'class="site-header"' in page


def test_reset_link_sets_a_new_password_and_revokes_the_token(client, reset_on, alice_with_email):
    services.api_token_create(user=alice_with_email)
    client.post(reverse("password_reset"), {"email": "alice@example.com"})

    form_page = client.get(_reset_link(), follow=True)
    assert 'data-testid="password-reset-confirm"' in form_page.content.decode()
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        follow=True,
    )

    assert 'data-testid="password-reset-complete"' in done.content.decode()
    alice_with_email.refresh_from_db()
    assert alice_with_email.check_password(NEW_PASSWORD)
    assert not Token.objects.filter(user=alice_with_email).exists()


def test_used_reset_link_says_it_does_not_work(client, reset_on, alice_with_email):
    client.post(reverse("password_reset"), {"email": "alice@example.com"})
    link = _reset_link()
    form_page = client.get(link, follow=True)
    client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    page = client.get(link, follow=True).content.decode()

    assert 'data-testid="password-reset-invalid"' in page


def test_unknown_email_gets_the_same_answer_and_no_mail(client, reset_on, alice_with_email):
    response = client.post(reverse("password_reset"), {"email": "nobody@example.com"})

    assert response.status_code == 302
    assert response["Location"] == reverse("password_reset_done")
    assert mail.outbox == []


def test_reset_mails_to_one_address_stop_after_the_limit(
    client, reset_on, alice_with_email, settings
):
    settings.PASSWORD_RESET_ADDRESS_RATE = "2/hour"

    responses = [
        client.post(reverse("password_reset"), {"email": "Alice@example.com"}) for _ in range(4)
    ]

    assert [r.status_code for r in responses] == [302] * 4
    assert {r["Location"] for r in responses} == {reverse("password_reset_done")}
    assert len(mail.outbox) == 2


def test_reset_requests_from_one_client_stop_after_the_limit(client, reset_on, settings):
    # The probe: 60 requests for different addresses from one client all sent their mails.
    settings.PASSWORD_RESET_CLIENT_RATE = "3/hour"
    users = get_user_model().objects
    for n in range(5):
        users.create_user(username=f"u{n}", email=f"u{n}@example.com", password="x-Strong-pass-1")

    responses = [
        client.post(reverse("password_reset"), {"email": f"u{n}@example.com"}) for n in range(5)
    ]

    assert [r.status_code for r in responses] == [302] * 5
    assert {r["Location"] for r in responses} == {reverse("password_reset_done")}
    assert sorted(m.to[0] for m in mail.outbox) == [f"u{n}@example.com" for n in range(3)]


def test_another_client_may_still_ask_for_a_reset(client, reset_on, settings, alice_with_email):
    settings.PASSWORD_RESET_CLIENT_RATE = "1/hour"
    ask = {"email": "alice@example.com"}
    client.post(reverse("password_reset"), ask, REMOTE_ADDR="203.0.113.7")
    client.post(reverse("password_reset"), ask, REMOTE_ADDR="203.0.113.7")
    client.post(reverse("password_reset"), ask, REMOTE_ADDR="198.51.100.9")

    assert len(mail.outbox) == 2


def test_a_forwarded_for_header_does_not_dodge_the_client_limit(client, reset_on, settings):
    # Without DJANGO_PROXY_COUNT the header is the client's own word: it must not pick the key.
    settings.PASSWORD_RESET_CLIENT_RATE = "1/hour"
    users = get_user_model().objects
    for n in range(3):
        users.create_user(username=f"u{n}", email=f"u{n}@example.com", password="x-Strong-pass-1")

    for n in range(3):
        client.post(
            reverse("password_reset"),
            {"email": f"u{n}@example.com"},
            HTTP_X_FORWARDED_FOR=f"192.0.2.{n}",
        )

    assert len(mail.outbox) == 1
