"""One check for an email address, at sign-up and on the account page: its length, its form,
and that no other account has it (in any case)."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse

pytestmark = pytest.mark.django_db

PASSWORD = "a-Strong-pass-123"


def _long_address(length: int) -> str:
    # Valid labels of at most 63 characters, so that only the length is wrong.
    domain = ".".join(["d" * 60] * 4) + ".com"
    return "a" * (length - len(domain) - 1) + "@" + domain


def _signup(client, username: str, email: str):
    return client.post(
        reverse("signup"),
        {"username": username, "email": email, "password1": PASSWORD, "password2": PASSWORD},
    )


def _change(client, user, email: str):
    client.force_login(user)
    return client.post(reverse("account"), {"email": email, "password": "correct-horse-9"})


@pytest.mark.parametrize("length", [255, 300, 319])
def test_account_page_refuses_an_address_longer_than_the_column(client, user, length):
    response = _change(client, user, _long_address(length))

    assert response.status_code == 400
    assert "at most 254 characters" in response.content.decode()
    user.refresh_from_db()
    assert user.email == ""


def test_an_address_of_254_characters_is_kept(client, user):
    address = _long_address(254)

    assert _change(client, user, address).status_code == 302
    user.refresh_from_db()
    assert user.email == address


@pytest.mark.parametrize("length", [255, 319])
def test_signup_refuses_an_address_longer_than_the_column(client, length):
    response = _signup(client, "carol", _long_address(length))

    assert response.status_code == 400
    assert not get_user_model().objects.filter(username="carol").exists()


def test_signup_and_the_account_page_lower_the_domain_and_keep_the_local_part(client, user):
    _signup(client, "carol", "  Carol.Smith@Example.COM ")
    _change(client, user, "Alice@EXAMPLE.org")

    assert get_user_model().objects.get(username="carol").email == "Carol.Smith@example.com"
    user.refresh_from_db()
    assert user.email == "Alice@example.org"


def test_signup_refuses_an_address_another_account_has_in_any_case(client, other_user):
    other_user.email = "bob@example.com"
    other_user.save()

    response = _signup(client, "carol", "BOB@example.COM")

    assert response.status_code == 400
    assert "Another account uses this email address" in response.content.decode()
    assert not get_user_model().objects.filter(username="carol").exists()


def test_account_page_refuses_an_address_another_account_has_in_any_case(client, user, other_user):
    other_user.email = "bob@example.com"
    other_user.save()

    response = _change(client, user, "Bob@Example.com")

    assert response.status_code == 400
    assert "Another account uses this email address" in response.content.decode()
    user.refresh_from_db()
    assert user.email == ""


def test_a_user_saves_their_own_address_again_in_another_case(client, user):
    user.email = "alice@example.com"
    user.save()

    assert _change(client, user, "ALICE@example.com").status_code == 302
    user.refresh_from_db()
    assert user.email == "ALICE@example.com"


def test_two_accounts_may_both_have_no_address(client, user):
    assert _signup(client, "carol", "").status_code == 302
    assert _change(client, user, "").status_code == 302


def test_a_reset_for_an_address_two_old_accounts_share_mails_each_its_own_link(
    client, settings, user, other_user
):
    # Addresses shared before the check existed: each account gets its own mail, naming it.
    settings.PASSWORD_RESET_ENABLED = True
    for account in (user, other_user):
        account.email = "shared@example.com"
        account.save()

    client.post(reverse("password_reset"), {"email": "Shared@example.com"})

    assert sorted(m.to[0] for m in mail.outbox) == ["shared@example.com"] * 2
    named = sorted(re.search(r"Your username is: (\S+)", m.body).group(1) for m in mail.outbox)
    assert named == ["alice", "bob"]
