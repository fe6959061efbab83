import io
import json
import os
import zipfile

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse
from rest_framework.authtoken.models import Token

from accounts import services
from recognizer.models import Digit, Prediction

pytestmark = pytest.mark.django_db


def test_signup_keeps_the_optional_email(client):
    client.post(
        reverse("signup"),
        {
            "username": "carol",
            "email": "carol@example.com",
            "password1": "a-Strong-pass-123",
            "password2": "a-Strong-pass-123",
        },
    )

    assert get_user_model().objects.get(username="carol").email == "carol@example.com"


def test_signup_page_asks_for_an_optional_email(client):
    page = client.get(reverse("signup")).content.decode()

    assert 'name="email"' in page
    assert "Email (optional)" in page


def test_account_page_needs_a_login(client):
    response = client.get(reverse("account"))

    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_nav_account_link_opens_the_account_page(client, user):
    client.force_login(user)

    page = client.get(reverse("account")).content.decode()

    assert f'href="{reverse("account")}" aria-current="page" data-testid="nav-account"' in page
    for testid in ("account-export", "account-delete", "account-api-token"):
        assert f'data-testid="{testid}"' in page


def test_user_sets_an_email_with_their_password(client, user):
    client.force_login(user)

    response = client.post(
        reverse("account"), {"email": "alice@example.com", "password": "correct-horse-9"}
    )

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.email == "alice@example.com"


def test_email_is_not_changed_without_the_right_password(client, user):
    client.force_login(user)

    response = client.post(
        reverse("account"), {"email": "mallory@example.com", "password": "wrong-guess"}
    )

    assert response.status_code == 400
    user.refresh_from_db()
    assert user.email == ""


def test_email_change_is_refused_after_too_many_wrong_passwords(client, user, settings):
    settings.AXES_FAILURE_LIMIT = 3
    client.force_login(user)
    for _ in range(3):
        client.post(reverse("account"), {"email": "m@example.com", "password": "wrong-guess"})

    response = client.post(
        reverse("account"), {"email": "m@example.com", "password": "correct-horse-9"}
    )

    assert response.status_code == 429
    user.refresh_from_db()
    assert user.email == ""


def _export(client) -> zipfile.ZipFile:
    response = client.get(reverse("account_export"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert "attachment" in response["Content-Disposition"]
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def test_export_has_the_users_images_and_predictions(client, user, prediction):
    services.user_email_set(user=user, email="alice@example.com")
    prediction.digits.update(user_label=3, true_label=3)
    client.force_login(user)

    archive = _export(client)

    data = json.loads(archive.read("predictions.json"))
    assert data["account"] == {"username": "alice", "email": "alice@example.com"}
    [row] = data["predictions"]
    expected = {
        "id",
        "created_at",
        "source",
        "original_filename",
        "digit",
        "confidence",
        "probabilities",
        "user_label",
        "true_label",
        "status",
    }
    assert expected <= row.keys()
    assert row["id"] == prediction.pk
    assert row["original_filename"] == "mine.png"
    assert (row["user_label"], row["true_label"]) == (3, 3)
    assert len(row["probabilities"]) == 10
    with prediction.image.open("rb") as fh:
        assert archive.read(row["image_file"]) == fh.read()


def test_export_leaves_out_other_users_predictions(client, other_user, prediction):
    client.force_login(other_user)

    archive = _export(client)

    assert json.loads(archive.read("predictions.json"))["predictions"] == []
    assert [name for name in archive.namelist() if name.startswith("images/")] == []


def test_delete_page_asks_for_the_password(client, user):
    client.force_login(user)

    page = client.get(reverse("account_delete")).content.decode()

    assert 'name="password"' in page
    assert 'data-testid="delete-confirm"' in page


def test_account_is_kept_with_a_wrong_password(client, user, prediction):
    client.force_login(user)

    response = client.post(reverse("account_delete"), {"password": "wrong-guess"})

    assert response.status_code == 400
    assert get_user_model().objects.filter(pk=user.pk).exists()
    assert Prediction.objects.filter(pk=prediction.pk).exists()


def _orphans() -> str:
    out = io.StringIO()
    call_command("orphans", "--min-age", "0", stdout=out)
    return out.getvalue()


def test_deleting_an_account_leaves_nothing_behind(
    client,
    user,
    other_user,
    prediction,
    active_model,
    digit_png,
    django_capture_on_commit_callbacks,
):
    from recognizer import predictions

    kept = predictions.prediction_create(
        user=other_user, image_file=io.BytesIO(digit_png), original_filename="theirs.png"
    )
    predictions.prediction_feedback(prediction=prediction, label=4)
    services.api_token_create(user=user)
    image_path = prediction.image.path
    client.force_login(user)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("account_delete"), {"password": "correct-horse-9"}, follow=True
        )

    assert response.redirect_chain[-1][0] == reverse("login")
    assert "were deleted" in response.content.decode()
    assert not get_user_model().objects.filter(pk=user.pk).exists()
    assert not Prediction.objects.filter(owner_id=user.pk).exists()
    assert not Digit.history.filter(prediction_id=prediction.pk).exists()
    assert not Token.objects.filter(user_id=user.pk).exists()
    assert not os.path.exists(image_path)
    assert "0 orphan file(s), 0 prediction(s) without a file" in _orphans()
    assert Prediction.objects.filter(pk=kept.pk).exists()
    assert client.get(reverse("recognizer:history")).status_code == 302


def test_account_deletion_is_refused_after_too_many_wrong_passwords(client, user, settings):
    settings.AXES_FAILURE_LIMIT = 3
    client.force_login(user)
    for _ in range(3):
        client.post(reverse("account_delete"), {"password": "wrong-guess"})

    response = client.post(reverse("account_delete"), {"password": "correct-horse-9"})

    assert response.status_code == 429
    assert 'data-testid="password-refused"' in response.content.decode()
    assert get_user_model().objects.filter(pk=user.pk).exists()
