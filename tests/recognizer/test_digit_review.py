"""Staff review per digit: the services, the decision endpoint, the review screen, the history."""

import io
import json
import re

import pytest
from django.urls import reverse

from recognizer import predictions, review
from recognizer.models import Digit, Prediction

pytestmark = pytest.mark.django_db

DECIDE = "api:prediction-decision"
REVIEW = "admin:recognizer_prediction_review"


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def number(user, active_model, number_png) -> Prediction:
    prediction = predictions.prediction_create(user=user, image_file=io.BytesIO(number_png))
    assert prediction.digits.count() == 2
    return prediction


def _decide(client, pk: int, **body):
    return client.post(
        reverse(DECIDE, args=[pk]), json.dumps(body), content_type="application/json"
    )


def test_digit_review_labels_one_digit_of_a_number_with_history(staff_user, user, number):
    second = number.digits.get(position=1)

    review.digit_review(digit=second, label=2, reviewer=staff_user)

    second.refresh_from_db()
    assert (second.true_label, second.reviewed_by) == (2, staff_user)
    assert second.reviewed_at is not None
    assert number.digits.get(position=0).true_label is None
    number.refresh_from_db()
    assert number.true_label is None
    # The history has the "from" (as uploaded, by the owner) and the change, by the reviewer.
    before, after = second.history.order_by("history_date", "history_id")
    assert (before.history_user, before.true_label) == (user, None)
    assert (after.history_user, after.true_label, after.position) == (staff_user, 2, 1)


def test_a_number_cannot_get_one_label_for_the_whole(staff_user, number):
    with pytest.raises(review.ReviewRefused, match="label each of its digits"):
        review.prediction_review(prediction=number, label=4, reviewer=staff_user)
    assert (
        review.predictions_set_label(
            predictions=Prediction.objects.all(), label=4, reviewer=staff_user
        )
        == 0
    )


def test_one_digit_review_sets_the_upload_and_its_digit(staff_user, prediction):
    review.prediction_review(prediction=prediction, label=6, reviewer=staff_user)
    assert prediction.digits.get().true_label == 6

    review.digit_review(digit=prediction.digits.get(), label=5, reviewer=staff_user)
    prediction.refresh_from_db()
    assert prediction.true_label == 5
    assert prediction.digits.get().true_label == 5


def test_endpoint_decides_per_digit(client, staff_user, user, number):
    predictions.prediction_feedback(prediction=number, label=8, position=0)
    client.force_login(staff_user)

    claim = _decide(client, number.pk, action="accept_claim", position=0)
    confirm = _decide(client, number.pk, action="confirm", position=1)

    assert claim.status_code == confirm.status_code == 200
    digits = confirm.json()["digits"]
    second = number.digits.get(position=1)
    assert [d["true_label"] for d in digits] == [8, second.digit]
    assert Digit.objects.get(pk=second.pk).reviewed_by == staff_user


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"action": "label", "label": 3}, "say which digit"),
        ({"action": "label", "label": 3, "position": 5}, "no digit at position 5"),
        ({"action": "accept_claim", "position": 1}, "has not named a digit"),
        ({"action": "label", "label": 3, "position": -1}, "greater than or equal to 0"),
    ],
)
def test_endpoint_refuses_a_decision_without_its_digit(client, staff_user, number, body, words):
    client.force_login(staff_user)

    response = _decide(client, number.pk, **body)

    assert response.status_code == 400
    assert words in json.dumps(response.json())
    assert not Digit.objects.filter(true_label__isnull=False).exists()


def test_exclude_takes_the_whole_number_out_of_the_queue(client, staff_user, number):
    client.force_login(staff_user)

    assert _decide(client, number.pk, action="exclude", position=1).status_code == 200

    assert Prediction.objects.get(pk=number.pk).excluded_from_training
    assert not Digit.objects.needs_review().exists()


def test_the_list_counts_waiting_items_as_the_review_screen_does(client, staff_user, number):
    client.force_login(staff_user)

    html = client.get(reverse("admin:recognizer_prediction_changelist")).content.decode()

    assert "Review screen (2 waiting)" in html  # the number's two digits
    assert 'data-testid="review-waiting">2</span>' in client.get(reverse(REVIEW)).content.decode()


def test_review_screen_shows_each_digit_with_its_number(client, staff_user, number, prediction):
    client.force_login(staff_user)

    html = client.get(reverse(REVIEW)).content.decode()

    items = re.findall(r'data-id="(\d+)" data-position="(\d+)"', html)
    assert sorted(items) == sorted(
        [(str(number.pk), "0"), (str(number.pk), "1"), (str(prediction.pk), "0")]
    )
    # A number's digits are next to each other, left to right.
    mine = [pos for pk, pos in items if pk == str(number.pk)]
    assert mine == ["0", "1"]
    assert html.count('data-testid="review-context"') == 2
    assert reverse("recognizer:digit_input", args=[number.pk, 1]) in html


def test_admin_shows_each_digit_and_its_label_history(client, staff_user, number):
    review.digit_review(digit=number.digits.get(position=0), label=4, reviewer=staff_user)
    client.force_login(staff_user)

    page = client.get(reverse("admin:recognizer_prediction_change", args=[number.pk]))

    assert page.status_code == 200
    digit = number.digits.get(position=0)
    history_url = reverse("admin:recognizer_digit_history", args=[digit.pk])
    assert history_url in page.content.decode()
    history = client.get(history_url)
    assert history.status_code == 200
    assert "staff" in history.content.decode()


def test_a_numbers_page_shows_each_digit_as_seen_and_no_label_for_the_whole(
    client, staff_user, number
):
    client.force_login(staff_user)

    html = client.get(reverse("admin:recognizer_prediction_change", args=[number.pk])).content
    html = html.decode()

    assert 'name="true_label"' not in html
    for position in (0, 1):
        assert reverse("recognizer:digit_input", args=[number.pk, position]) in html
    # The upload's one-digit input does not exist for a number: no broken image.
    assert reverse("recognizer:model_input", args=[number.pk]) not in html


def test_digit_history_is_for_reviewers_only(client, user, number):
    digit = number.digits.get(position=0)
    client.force_login(user)
    url = reverse("admin:recognizer_digit_history", args=[digit.pk])
    assert client.get(url).status_code == 302


def test_a_number_is_reviewed_once_every_digit_is(client, staff_user, user, number):
    first, second = number.digits.order_by("position")
    review.digit_review(digit=first, label=4, reviewer=staff_user)
    assert number in Prediction.objects.needs_review()
    assert number not in Prediction.objects.reviewed()

    review.digit_review(digit=second, label=2, reviewer=staff_user)

    assert number not in Prediction.objects.needs_review()
    assert number in Prediction.objects.reviewed()
    assert number not in Prediction.objects.unreviewed()
    assert Prediction.objects.get(pk=number.pk).reviewed_text == "42"
    client.force_login(user)
    html = client.get(reverse("recognizer:history"), {"reviewed": "yes"}).content.decode()
    assert "reviewed: 42" in html
    page = client.get(reverse("recognizer:detail", args=[number.pk])).content.decode()
    assert 'data-testid="true-label">42<' in page


def test_digits_are_deleted_with_their_upload_never_alone(client, staff_user, number):
    client.force_login(staff_user)
    digit = number.digits.get(position=0)

    alone = client.post(reverse("admin:recognizer_digit_delete", args=[digit.pk]), {"post": "yes"})
    assert alone.status_code == 403
    assert Digit.objects.filter(pk=digit.pk).exists()

    whole = client.post(
        reverse("admin:recognizer_prediction_delete", args=[number.pk]), {"post": "yes"}
    )
    assert whole.status_code == 302
    assert not Digit.objects.filter(prediction_id=number.pk).exists()
