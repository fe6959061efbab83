"""A mark that is no digit: the owner can say so, staff label it, the stats count it, and it never
becomes training data for the digit model."""

import io
import json

import pytest
from django.urls import reverse

from recognizer import predictions, retraining_data, review
from recognizer.models import Digit, Label, Prediction
from recognizer.stats import model_version_stats

pytestmark = pytest.mark.django_db


@pytest.fixture
def upload(user, active_model, digit_png) -> Prediction:
    return predictions.prediction_create(user=user, image_file=io.BytesIO(digit_png))


def test_the_owner_says_it_isnt_a_digit(client, user, upload):
    client.force_login(user)
    page = client.get(reverse("recognizer:detail", args=[upload.pk])).content.decode()
    assert f'<option value="{Label.NOT_A_DIGIT}">It isn&#x27;t a digit</option>' in page

    response = client.post(reverse("recognizer:feedback", args=[upload.pk]), {"label": "10"})

    assert response.status_code == 302
    assert upload.digits.get().user_label == Label.NOT_A_DIGIT
    page = client.get(reverse("recognizer:detail", args=[upload.pk])).content.decode()
    assert 'this is <strong data-testid="user-label">not a digit</strong>.' in page


def test_staff_label_it_on_the_review_screen_and_the_stats_count_it_apart(
    client, staff_user, upload, active_model
):
    client.force_login(staff_user)
    screen = client.get(reverse("admin:recognizer_prediction_review")).content.decode()
    assert 'data-key="n" data-testid="review-not-digit">Not a digit</button>' in screen

    decide = reverse("api:prediction-decision", args=[upload.pk])
    body = json.dumps({"action": "label", "label": 10})
    answer = client.post(decide, body, content_type="application/json")

    assert answer.status_code == 200 and answer.json()["true_label"] == 10
    stats = model_version_stats(active_model)
    assert (stats["reviewed"], stats["not_a_digit"]) == (0, 1)
    page = client.get(reverse("admin:recognizer_modelversion_stats", args=[active_model.pk]))
    assert '<span data-testid="not-a-digit">1</span> marks reviewed as not a digit' in (
        page.content.decode()
    )


def test_the_admin_sets_it_and_retraining_leaves_it_out(client, staff_user, upload):
    client.force_login(staff_user)
    changelist = reverse("admin:recognizer_prediction_changelist")
    assert "Set the label to “not a digit”" in client.get(changelist).content.decode()

    client.post(changelist, {"action": "set_label_10", "_selected_action": [upload.pk]})

    digit = upload.digits.get()
    assert digit.true_label == Label.NOT_A_DIGIT and digit.reviewed_by == staff_user
    assert not Digit.objects.training_usable().exists()
    train, heldout = retraining_data.split_reviewed()
    assert train == heldout == []
    review.digit_review(digit=digit, label=upload.digit, reviewer=staff_user)
    assert list(Digit.objects.training_usable()) == [digit]
