import io
import re

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from recognizer import predictions, review
from recognizer.models import Digit, Prediction

pytestmark = pytest.mark.django_db


@pytest.fixture
def uploads(user, active_model, digit_png):
    return [
        predictions.prediction_create(user=user, image_file=io.BytesIO(digit_png)) for _ in range(2)
    ]


def test_non_staff_cannot_reach_admin(client, user):
    client.force_login(user)
    response = client.get(reverse("admin:recognizer_prediction_changelist"))
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]


def test_staff_sees_every_prediction(client, staff_user, uploads, other_user, digit_png):
    other = predictions.prediction_create(user=other_user, image_file=io.BytesIO(digit_png))
    client.force_login(staff_user)

    response = client.get(reverse("admin:recognizer_prediction_changelist"))

    assert response.status_code == 200
    shown = {p.pk for p in response.context["cl"].result_list}
    assert shown == {p.pk for p in uploads} | {other.pk}


def test_staff_corrects_label_in_list_and_review_is_recorded(client, staff_user, uploads):
    target = uploads[0]
    client.force_login(staff_user)
    changelist = reverse("admin:recognizer_prediction_changelist")
    rows = list(Prediction.objects.all())
    data = {
        "form-TOTAL_FORMS": str(len(rows)),
        "form-INITIAL_FORMS": str(len(rows)),
        "_save": "Save",
    }
    page = client.get(changelist)
    ordered = list(page.context["cl"].result_list)
    for i, p in enumerate(ordered):
        data[f"form-{i}-id"] = str(p.pk)
        data[f"form-{i}-true_label"] = "5" if p.pk == target.pk else ""

    response = client.post(changelist, data)

    assert response.status_code == 302
    target.refresh_from_db()
    assert target.true_label == 5
    assert target.reviewed_by == staff_user
    assert target.reviewed_at is not None
    assert Prediction.objects.reviewed().count() == 1


def test_confirm_action_sets_true_label_to_prediction(client, staff_user, uploads):
    client.force_login(staff_user)
    response = client.post(
        reverse("admin:recognizer_prediction_changelist"),
        {"action": "confirm_prediction", "_selected_action": [p.pk for p in uploads]},
    )

    assert response.status_code == 302
    for p in uploads:
        p.refresh_from_db()
        assert p.true_label == p.digit
        assert p.reviewed_by == staff_user


def test_review_queue_puts_unreviewed_low_confidence_first(
    client, staff_user, uploads, user, digit_png
):
    low = uploads[0]
    Digit.objects.filter(prediction=low).update(confidence=0.2)
    Digit.objects.filter(prediction=uploads[1]).update(confidence=0.9)
    reviewed = predictions.prediction_create(user=user, image_file=io.BytesIO(digit_png))
    Digit.objects.filter(prediction=reviewed).update(confidence=0.05)
    review.prediction_review(prediction=reviewed, label=1, reviewer=staff_user)
    client.force_login(staff_user)

    response = client.get(reverse("admin:recognizer_prediction_changelist"))

    order = [p.pk for p in response.context["cl"].result_list]
    assert order == [low.pk, uploads[1].pk, reviewed.pk]


def test_model_version_admin_lists_versions(client, staff_user, active_model):
    client.force_login(staff_user)
    response = client.get(reverse("admin:recognizer_modelversion_changelist"))
    assert response.status_code == 200
    assert active_model.version in response.content.decode()


# A float as Python prints it unrounded: what a change page must never show.
RAW_FLOAT = re.compile(r"\d\.\d{5,}")


def test_prediction_page_shows_percentages_not_raw_floats(client, staff_user, uploads):
    target = uploads[0]
    probabilities = [0.0] * 10
    probabilities[7], probabilities[1], probabilities[9] = 0.5399999999999999, 0.382, 0.0780000001
    Prediction.objects.filter(pk=target.pk).update(text="7", predict_ms=34.604083999511204)
    target.digits.update(digit=7, confidence=0.5399999999999999, probabilities=probabilities)
    client.force_login(staff_user)

    html = client.get(reverse("admin:recognizer_prediction_change", args=[target.pk])).content
    html = html.decode()

    # The site's one rounding, whole percent rounded down (7.8% reads 7%).
    assert "54%" in html and "54.0%" not in html
    assert "<strong>7</strong>: 54%" in html and "<strong>1</strong>: 38%" in html
    assert "7: 54% · 1: 38% · 9: 7%" in html  # the digit's row below
    assert "34.6 ms" in html
    assert RAW_FLOAT.findall(html) == []


def test_digit_reading_page_formats_numbers_and_offers_no_delete(client, staff_user, uploads):
    digit = uploads[0].digits.get()
    Digit.objects.filter(pk=digit.pk).update(
        confidence=0.5399999999999999, probabilities=[0.5399999999999999] + [0.0511111111111] * 9
    )
    client.force_login(staff_user)

    html = client.get(reverse("admin:recognizer_digit_change", args=[digit.pk])).content
    html = html.decode()

    assert "54%" in html and "5%" in html and "5.1%" not in html
    assert RAW_FLOAT.findall(html) == []
    # Digits are deleted with their upload only: no button leading to a 403.
    assert reverse("admin:recognizer_digit_delete", args=[digit.pk]) not in html


def test_model_version_page_reads_its_metrics(client, staff_user, active_model):
    active_model.metrics = {
        "accuracy": 0.9313,
        "n": 10000,
        "per_class": {
            str(d): {"precision": 0.9168297455968689, "recall": 0.95612244897959, "support": 980}
            for d in range(10)
        },
        "confusion": [[1] * 10] * 10,
        "calibration": {"ece": 0.14666666666666, "bins": [{"confidence": 0.19999999999999996}]},
    }
    active_model.params = {"kind": "rf", "train_seconds": 1.04999999999}
    active_model.heldout_metrics = {"accuracy": 0.8999999999999999, "n": 40, "ids": list(range(30))}
    active_model.save()
    client.force_login(staff_user)

    url = reverse("admin:recognizer_modelversion_change", args=[active_model.pk])
    html = client.get(url).content.decode()

    assert "93.13%" in html and "14.67%" in html and "90.00%" in html
    assert "91.7%" in html and "95.6%" in html  # per digit
    assert "1.05" in html
    assert "(30 in all)" in html
    assert reverse("admin:recognizer_modelversion_stats", args=[active_model.pk]) in html
    assert RAW_FLOAT.findall(html) == []


def test_list_label_selects_are_named_and_a_numbers_is_disabled(
    client, staff_user, uploads, number_png
):
    number = predictions.prediction_create(user=uploads[0].owner, image_file=io.BytesIO(number_png))
    client.force_login(staff_user)

    html = client.get(reverse("admin:recognizer_prediction_changelist")).content.decode()

    selects = re.findall(r"<select[^>]*name=\"form-\d+-true_label\"[^>]*>", html)
    assert len(selects) == 3
    for p in uploads:
        assert any(f'aria-label="True label of upload {p.pk}"' in s for s in selects)
    (numbers,) = [s for s in selects if f"upload {number.pk}," in s]
    assert "disabled" in numbers and number.text in numbers


@pytest.mark.parametrize("changelist", ["prediction", "modelversion", "trainingrun"])
def test_every_list_offers_retrain_now_to_those_allowed(
    client, staff_user, django_user_model, active_model, changelist
):
    url = reverse(f"admin:recognizer_{changelist}_changelist")
    retrain = reverse("admin:recognizer_trainingrun_retrain")
    client.force_login(staff_user)
    assert f'action="{retrain}"' in client.get(url).content.decode()

    viewer = django_user_model.objects.create_user(username="viewer", is_staff=True)
    viewer.user_permissions.set(Permission.objects.filter(codename__startswith="view_"))
    client.force_login(viewer)
    assert retrain not in client.get(url).content.decode()


def test_uploads_list_rounds_confidence_as_the_site_does(client, staff_user, uploads):
    Digit.objects.filter(prediction__in=uploads).update(confidence=0.996)
    client.force_login(staff_user)

    html = client.get(reverse("admin:recognizer_prediction_changelist")).content.decode()

    # Rounded to the nearest, 99.6% would read as a certain 100%.
    assert '<span class="list-confidence">99%</span>' in html
    assert '<span class="list-confidence">100%</span>' not in html
