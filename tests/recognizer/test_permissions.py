"""Being staff opens the admin's door, nothing more: every look and every change needs its Django
permission (hardening 4: a staff user without model permissions read every image and PATCHed
labels; one with only change_prediction queued a retrain)."""

import json

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from recognizer.models import Prediction, TrainingRun

pytestmark = pytest.mark.django_db


def _staff(django_user_model, username: str, *codenames: str):
    user = django_user_model.objects.create_user(
        username=username, password="correct-horse-9", is_staff=True
    )
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    return user


@pytest.fixture
def plain_staff(django_user_model):
    return _staff(django_user_model, "plain-staff")


@pytest.fixture
def reviewer(django_user_model):
    return _staff(django_user_model, "reviewer", "view_prediction", "change_prediction")


@pytest.mark.parametrize("name", ["detail", "image", "thumbnail", "model_input"])
def test_staff_without_view_permission_gets_404_for_other_users_uploads(
    client, plain_staff, prediction, name
):
    client.force_login(plain_staff)
    assert client.get(reverse(f"recognizer:{name}", args=[prediction.pk])).status_code == 404


def test_staff_without_view_permission_lists_only_their_own_in_the_api(
    client, plain_staff, prediction
):
    client.force_login(plain_staff)
    assert client.get(reverse("api:prediction-list")).json()["count"] == 0
    detail = reverse("api:prediction-detail", args=[prediction.pk])
    assert client.get(detail).status_code == 404
    response = client.patch(detail, {"true_label": 3}, content_type="application/json")
    assert response.status_code == 404
    assert Prediction.objects.get(pk=prediction.pk).true_label is None


def test_viewer_without_change_permission_cannot_label(client, django_user_model, prediction):
    viewer = _staff(django_user_model, "viewer", "view_prediction")
    client.force_login(viewer)
    detail = reverse("api:prediction-detail", args=[prediction.pk])
    assert client.get(detail).status_code == 200
    assert client.get(reverse("recognizer:image", args=[prediction.pk])).status_code == 200

    patched = client.patch(detail, {"true_label": 3}, content_type="application/json")
    decided = client.post(
        reverse("api:prediction-decision", args=[prediction.pk]),
        json.dumps({"action": "confirm"}),
        content_type="application/json",
    )

    assert patched.status_code == 403 and decided.status_code == 403
    assert Prediction.objects.get(pk=prediction.pk).true_label is None


def test_reviewer_labels_through_the_api_and_the_review_screen(client, reviewer, prediction):
    client.force_login(reviewer)
    assert client.get(reverse("admin:recognizer_prediction_review")).status_code == 200
    response = client.post(
        reverse("api:prediction-decision", args=[prediction.pk]),
        json.dumps({"action": "label", "label": 4}),
        content_type="application/json",
    )
    assert response.status_code == 200
    assert Prediction.objects.get(pk=prediction.pk).true_label == 4


def test_reviewing_does_not_grant_retraining(client, reviewer, prediction):
    client.force_login(reviewer)
    changelist = reverse("admin:recognizer_prediction_changelist")
    assert "retrain_with_corrections" not in client.get(changelist).content.decode()

    client.post(
        changelist,
        {"action": "retrain_with_corrections", "_selected_action": [prediction.pk]},
    )

    assert TrainingRun.objects.count() == 0


def test_the_retrain_permission_queues_a_run(client, reviewer, prediction, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    reviewer.user_permissions.add(Permission.objects.get(codename="start_retraining"))
    client.force_login(reviewer)
    changelist = reverse("admin:recognizer_prediction_changelist")

    client.post(
        changelist,
        {"action": "retrain_with_corrections", "_selected_action": [prediction.pk]},
    )

    assert TrainingRun.objects.get().state == TrainingRun.State.QUEUED
