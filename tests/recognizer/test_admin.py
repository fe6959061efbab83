import io

import pytest
from django.urls import reverse

from recognizer import predictions, review
from recognizer.models import Prediction

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
    Prediction.objects.filter(pk=low.pk).update(confidence=0.2)
    Prediction.objects.filter(pk=uploads[1].pk).update(confidence=0.9)
    reviewed = predictions.prediction_create(user=user, image_file=io.BytesIO(digit_png))
    Prediction.objects.filter(pk=reviewed.pk).update(confidence=0.05)
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
