from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "another-Strong-456"


def _change(client, old_password: str):
    return client.post(
        reverse("password_change"),
        {
            "old_password": old_password,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )


@pytest.fixture
def limits(settings):
    settings.AXES_FAILURE_LIMIT = 5
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)


def test_wrong_old_password_is_refused_with_400(client, user, limits):
    client.force_login(user)

    response = _change(client, "wrong-guess")

    assert response.status_code == 400
    user.refresh_from_db()
    assert user.check_password("correct-horse-9")


def test_password_change_stops_checking_after_five_wrong_old_passwords(client, user, limits):
    client.force_login(user)
    for attempt in range(5):
        assert _change(client, f"wrong-guess-{attempt}").status_code == 400

    response = _change(client, "correct-horse-9")

    assert response.status_code == 429
    assert "Too many wrong passwords" in response.content.decode()
    assert int(response["Retry-After"]) == 15 * 60
    user.refresh_from_db()
    assert user.check_password("correct-horse-9")


def test_refused_attempts_do_not_check_the_password(client, user, limits, monkeypatch):
    client.force_login(user)
    for attempt in range(5):
        _change(client, f"wrong-guess-{attempt}")
    checked = []
    monkeypatch.setattr(type(user), "check_password", lambda self, raw: checked.append(raw))

    _change(client, "another-guess")

    assert checked == []


def test_password_change_works_again_after_the_window(client, user, limits, monkeypatch):
    client.force_login(user)
    for attempt in range(5):
        _change(client, f"wrong-guess-{attempt}")
    later = timezone.now() + timedelta(minutes=16)
    monkeypatch.setattr("django.core.cache.backends.db.tz_now", lambda: later)

    response = _change(client, "correct-horse-9")

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_failures_of_one_user_do_not_block_another(client, user, other_user, limits):
    client.force_login(user)
    for attempt in range(5):
        _change(client, f"wrong-guess-{attempt}")
    client.force_login(other_user)

    assert _change(client, "correct-horse-9").status_code == 302


def test_a_few_mistakes_then_the_right_password_still_works(client, user, limits):
    client.force_login(user)
    for attempt in range(4):
        _change(client, f"wrong-guess-{attempt}")

    assert _change(client, "correct-horse-9").status_code == 302
