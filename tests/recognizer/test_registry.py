import io
from pathlib import Path

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from recognizer import model_versions, predictions, registry, review
from recognizer.models import ModelVersion

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:recognizer_modelversion_changelist"


@pytest.fixture
def candidate(tiny_artifact, active_model):
    return model_versions.model_version_register(
        version="tiny-2",
        artifact_path=str(Path(tiny_artifact.path).resolve()),
        sha256=tiny_artifact.sha256,
        params={"n_estimators": 10},
        metrics={"accuracy": 0.9},
        activate=False,
        parent=active_model,
    )


def _upload(client, png: bytes):
    response = client.post(reverse("recognizer:upload"), {"image": io.BytesIO(png)})
    assert response.status_code == 302
    pk = int(response["Location"].rstrip("/").split("/")[-1])
    return client.get(reverse("recognizer:detail", args=[pk])).context["prediction"]


def test_promotion_in_admin_is_served_by_the_running_process_without_restart(
    client, settings, user, staff_user, active_model, candidate, digit_png
):
    settings.MODEL_REFRESH_SECONDS = 0
    client.force_login(user)
    assert _upload(client, digit_png).model_version == active_model
    staff = client.__class__()
    staff.force_login(staff_user)

    staff.post(
        reverse(CHANGELIST), {"action": "promote_candidate", "_selected_action": [candidate.pk]}
    )

    assert _upload(client, digit_png).model_version == candidate
    active_model.refresh_from_db()
    candidate.refresh_from_db()
    assert active_model.status == ModelVersion.Status.RETIRED
    assert candidate.status == ModelVersion.Status.ACTIVE
    assert "Promoted by staff" in candidate.status_note


def test_rollback_to_an_earlier_version_is_served_next(
    client, settings, user, staff_user, active_model, candidate, digit_png
):
    settings.MODEL_REFRESH_SECONDS = 0
    model_versions.model_version_activate(model_version=candidate)
    assert registry.get_active_model()[0] == candidate
    client.force_login(staff_user)

    client.post(
        reverse(CHANGELIST),
        {"action": "roll_back_to_this_version", "_selected_action": [active_model.pk]},
    )

    version, _ = registry.get_active_model()
    assert version == active_model
    active_model.refresh_from_db()
    assert f"Rolled back from {candidate.version} by staff" in active_model.status_note
    assert ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).count() == 1


def test_within_the_refresh_window_the_loaded_model_is_kept(
    settings, active_model, candidate, tiny_artifact
):
    settings.MODEL_REFRESH_SECONDS = 3600
    assert registry.get_active_model()[0] == active_model
    model_versions.model_version_activate(model_version=candidate)
    assert registry.get_active_model()[0] == active_model
    settings.MODEL_REFRESH_SECONDS = 0
    assert registry.get_active_model()[0] == candidate


def test_promote_refuses_a_version_that_is_not_a_candidate(client, staff_user, active_model):
    client.force_login(staff_user)
    response = client.post(
        reverse(CHANGELIST),
        {"action": "promote_candidate", "_selected_action": [active_model.pk]},
        follow=True,
    )
    assert "is not a candidate" in response.content.decode()


def test_the_database_allows_only_one_active_version(active_model, candidate):
    with pytest.raises(IntegrityError), transaction.atomic():
        ModelVersion.objects.filter(pk=candidate.pk).update(status=ModelVersion.Status.ACTIVE)


def test_non_staff_cannot_promote(client, user, candidate):
    client.force_login(user)
    client.post(
        reverse(CHANGELIST), {"action": "promote_candidate", "_selected_action": [candidate.pk]}
    )
    candidate.refresh_from_db()
    assert candidate.status == ModelVersion.Status.CANDIDATE


def test_stats_page_shows_accuracy_confusion_low_confidence_and_daily_chart(
    client, user, staff_user, active_model, digit_png
):
    rows = [
        predictions.prediction_create(user=user, image_file=io.BytesIO(digit_png)) for _ in range(3)
    ]
    assert all(p.model_version == active_model for p in rows)
    review.prediction_review(prediction=rows[0], label=rows[0].digit, reviewer=staff_user)
    wrong = (rows[1].digit + 1) % 10
    review.prediction_review(prediction=rows[1], label=wrong, reviewer=staff_user)
    active_model.metrics = {"accuracy": 0.9, "confusion": [[1] * 10 for _ in range(10)]}
    active_model.save()
    client.force_login(staff_user)

    listing = client.get(reverse(CHANGELIST)).content.decode()
    url = reverse("admin:recognizer_modelversion_stats", args=[active_model.pk])
    assert url in listing
    response = client.get(url)

    assert response.status_code == 200
    stats = response.context["stats"]
    assert stats["reviewed"] == 2 and stats["accuracy"] == 0.5
    assert stats["total"] == 3
    assert stats["confusion"][rows[1].digit]["cells"][rows[1].digit]["count"] == 1
    assert stats["confusion"][wrong]["cells"][rows[1].digit]["count"] == 1
    assert sum(bar.count for bar in stats["bars"]) == 3
    html = response.content.decode()
    assert html.count("<svg") >= 3
    assert 'data-testid="reviewed-accuracy">50.0%' in html
    assert "Confusion on the MNIST test set" in html
    assert "<script" not in html.split('<div class="model-stats">')[1]
    assert " style=" not in html.split('<div class="model-stats">')[1]


def test_stats_page_is_staff_only(client, user, active_model):
    client.force_login(user)
    url = reverse("admin:recognizer_modelversion_stats", args=[active_model.pk])
    assert client.get(url).status_code == 302


def test_stats_page_shows_the_kind_a_reliability_diagram_and_versions_side_by_side(
    client, staff_user, active_model, tiny_artifact
):
    from ml.evaluate import calibration

    confidence = [0.95] * 8 + [0.55] * 4
    correct = [True] * 7 + [False] + [True, True, False, False]
    active_model.metrics = {"accuracy": 0.9, "calibration": calibration(confidence, correct)}
    active_model.save()
    svm = model_versions.model_version_register(
        version="svm-1",
        kind="svm",
        artifact_path=active_model.artifact_path,
        sha256=active_model.sha256,
        params={"kind": "svm"},
        metrics={"accuracy": 0.99, "calibration": {"ece": 0.012, "bins": []}},
        activate=False,
    )
    client.force_login(staff_user)

    response = client.get(reverse("admin:recognizer_modelversion_stats", args=[active_model.pk]))

    html = response.content.decode()
    stats = response.context["stats"]
    assert [bar["count"] for bar in stats["reliability"]["bars"]] == [4, 8]
    assert stats["reliability"]["bars"][1]["accuracy"] == pytest.approx(7 / 8)
    assert 'data-testid="ece">' in html and 'class="reliability"' in html
    table = html.split('data-testid="versions-table"')[1]
    assert "svm-1" in table and "SVM (RBF, calibrated)" in table and "Random forest" in table
    assert "1.20%" in table
    assert svm.kind == "svm"
    assert " style=" not in html.split('<div class="model-stats">')[1]
