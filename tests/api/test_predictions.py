import io

import pytest
from django.urls import reverse
from PIL import Image

from recognizer import predictions, review
from recognizer.models import Prediction
from tests.conftest import digit_photo_bytes

from .conftest import named_file

pytestmark = pytest.mark.django_db

LIST = reverse("api:prediction-list")


def detail(pk: int) -> str:
    return reverse("api:prediction-detail", args=[pk])


def upload(client, data: bytes, name: str = "digit.png"):
    return client.post(LIST, {"image": named_file(data, name)}, format="multipart")


def test_upload_one_image_returns_the_digit(alice, user, active_model, digit_png, mnist_test_slice):
    response = upload(alice, digit_png)

    assert response.status_code == 201
    body = response.json()
    prediction = Prediction.objects.get()
    assert body["id"] == prediction.pk
    assert prediction.owner == user
    assert body["digit"] == prediction.digit == int(mnist_test_slice[1][0])
    assert body["status"] == "done"
    assert len(body["probabilities"]) == 10
    assert abs(sum(body["probabilities"]) - 1) < 1e-6
    assert body["confidence"] == max(body["probabilities"])
    assert body["low_confidence"] == (body["confidence"] < 0.5)
    assert body["model_version"] == active_model.version
    assert body["original_filename"] == "digit.png"
    assert body["url"] == f"http://testserver{detail(prediction.pk)}"
    assert response["Location"] == body["url"]
    assert body["image_url"].endswith(f"/api/predictions/{prediction.pk}/image")
    for key in ["created_at", "user_label", "true_label", "reviewed", "owner"]:
        assert key in body


def test_upload_without_active_model_is_stored_as_failed(alice, db, digit_png):
    response = upload(alice, digit_png)

    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "failed"
    assert body["digit"] is None
    assert body["probabilities"] is None
    assert "No model is active" in body["error_message"]


def test_batch_upload_answers_a_list_in_order(alice, active_model, mnist_test_slice):
    images, labels = mnist_test_slice
    files = [named_file(digit_photo_bytes(images[i]), f"d{i}.png") for i in range(3)]

    response = alice.post(LIST, {"images": files}, format="multipart")

    assert response.status_code == 201
    body = response.json()
    assert [item["original_filename"] for item in body] == ["d0.png", "d1.png", "d2.png"]
    assert Prediction.objects.count() == 3
    assert all(item["status"] == "done" and len(item["probabilities"]) == 10 for item in body)
    assert sum(item["digit"] == int(labels[i]) for i, item in enumerate(body)) >= 2


def test_batch_with_one_bad_file_stores_nothing(alice, active_model, digit_png, settings):
    files = [named_file(digit_png, "good.png"), named_file(b"%PDF-1.4 fake", "scan.pdf")]

    response = alice.post(LIST, {"images": files}, format="multipart")

    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "unsupported_format"
    assert body["index"] == 1
    assert body["filename"] == "scan.pdf"
    assert "scan.pdf" in body["detail"] and "Nothing was stored" in body["detail"]
    assert Prediction.objects.count() == 0
    assert not [path for path in settings.MEDIA_ROOT.rglob("*") if path.is_file()]


def test_list_shows_only_own_predictions_newest_first(
    alice, bob, user, other_user, active_model, digit_png
):
    first = upload(alice, digit_png).json()
    second = upload(alice, digit_png).json()
    upload(bob, digit_png)

    body = alice.get(LIST).json()

    assert body["count"] == 2
    assert [item["id"] for item in body["results"]] == [second["id"], first["id"]]
    assert {item["owner"] for item in body["results"]} == {user.username}


def test_staff_list_sees_everyone(alice, bob, staff, active_model, digit_png):
    upload(alice, digit_png)
    upload(bob, digit_png)

    body = staff.get(LIST).json()

    assert body["count"] == 2
    assert {item["owner"] for item in body["results"]} == {"alice", "bob"}


def test_list_is_paginated(alice, user, active_model, digit_png):
    for _ in range(3):
        predictions.prediction_create(user=user, image_file=io.BytesIO(digit_png))

    page = alice.get(LIST, {"page_size": 2}).json()
    assert page["count"] == 3
    assert len(page["results"]) == 2
    assert page["next"] is not None
    rest = alice.get(page["next"]).json()
    assert len(rest["results"]) == 1
    assert rest["previous"] is not None


def test_list_filters_by_digit_and_review(alice, user, staff_user, active_model, digit_png):
    a = predictions.prediction_create(user=user, image_file=io.BytesIO(digit_png))
    b = predictions.prediction_create(user=user, image_file=io.BytesIO(digit_png))
    other = (a.digit + 1) % 10
    Prediction.objects.filter(pk=b.pk).update(text=str(other))
    b.digits.update(digit=other)
    review.prediction_review(prediction=a, label=a.digit, reviewer=staff_user)

    def ids(**params):
        return [item["id"] for item in alice.get(LIST, params).json()["results"]]

    assert ids(digit=a.digit) == [a.pk]
    assert ids(digit=(a.digit + 1) % 10) == [b.pk]
    assert ids(reviewed="true") == [a.pk]
    assert ids(reviewed="false") == [b.pk]
    assert sorted(ids()) == sorted([a.pk, b.pk])


@pytest.mark.parametrize("params", [{"digit": "12"}, {"digit": "seven"}, {"reviewed": "maybe"}])
def test_bad_filter_is_400(alice, db, params):
    response = alice.get(LIST, params)
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid"
    assert next(iter(params)) in body["fields"]


def test_owner_gets_prediction(alice, prediction):
    response = alice.get(detail(prediction.pk))
    assert response.status_code == 200
    assert response.json()["id"] == prediction.pk
    assert response.json()["digit"] == prediction.digit


@pytest.mark.parametrize(
    ("method", "suffix", "data"),
    [
        ("get", "", None),
        ("delete", "", None),
        ("patch", "", {"true_label": 3}),
        ("post", "feedback/", {"label": 3}),
        ("get", "image", None),
    ],
)
def test_other_user_gets_404_everywhere(bob, prediction, method, suffix, data):
    response = getattr(bob, method)(detail(prediction.pk) + suffix, data)

    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
    prediction.refresh_from_db()
    assert prediction.true_label is None and prediction.user_label is None


def test_owner_deletes_prediction_and_its_files(
    alice, prediction, django_capture_on_commit_callbacks
):
    storage = prediction.image.storage
    names = [prediction.image.name, prediction.thumbnail.name]

    with django_capture_on_commit_callbacks(execute=True):
        response = alice.delete(detail(prediction.pk))

    assert response.status_code == 204
    assert not Prediction.objects.filter(pk=prediction.pk).exists()
    assert not any(storage.exists(name) for name in names)
    assert alice.get(detail(prediction.pk)).status_code == 404


def test_staff_cannot_delete_someone_elses_prediction(staff, prediction):
    response = staff.delete(detail(prediction.pk))
    assert response.status_code == 403
    assert response.json()["error"] == "permission_denied"
    assert Prediction.objects.filter(pk=prediction.pk).exists()


def test_owner_feedback_records_the_claim(alice, prediction):
    label = (prediction.digit + 1) % 10
    response = alice.post(detail(prediction.pk) + "feedback/", {"label": label})

    assert response.status_code == 200
    assert response.json()["user_label"] == label
    digit = prediction.digits.get()
    assert digit.user_label == label
    assert digit.user_label_at is not None
    assert digit.true_label is None


@pytest.mark.parametrize(
    ("data", "code"),
    [({"label": 11}, "invalid"), ({"label": "x"}, "invalid"), ({}, "missing_field")],
)
def test_bad_feedback_is_400(alice, prediction, data, code):
    response = alice.post(detail(prediction.pk) + "feedback/", data)
    assert response.status_code == 400
    assert response.json()["error"] == code
    assert "label" in response.json()["detail"]
    prediction.refresh_from_db()
    assert prediction.user_label is None


def test_staff_relabel_is_recorded_as_a_review(staff, staff_user, alice, prediction):
    label = (prediction.digit + 3) % 10
    response = staff.patch(detail(prediction.pk), {"true_label": label})

    assert response.status_code == 200
    assert response.json()["true_label"] == label
    assert response.json()["reviewed"] is True
    prediction.refresh_from_db()
    assert prediction.true_label == label
    assert prediction.reviewed_by == staff_user
    assert prediction.reviewed_at is not None
    # The owner sees the corrected label.
    assert alice.get(detail(prediction.pk)).json()["true_label"] == label
    assert alice.get(LIST, {"reviewed": "true"}).json()["count"] == 1


def test_staff_can_clear_a_review(staff, staff_user, prediction):
    review.prediction_review(prediction=prediction, label=4, reviewer=staff_user)
    response = staff.patch(detail(prediction.pk), {"true_label": None})
    assert response.status_code == 200
    prediction.refresh_from_db()
    assert prediction.true_label is None and prediction.reviewed_by is None


def test_owner_cannot_relabel_own_prediction(alice, prediction):
    response = alice.patch(detail(prediction.pk), {"true_label": 1})
    assert response.status_code == 403
    assert response.json()["error"] == "permission_denied"
    assert "feedback" in response.json()["detail"]
    prediction.refresh_from_db()
    assert prediction.true_label is None


@pytest.mark.parametrize("data", [{"true_label": 11}, {}, {"true_label": "seven"}])
def test_bad_relabel_is_400(staff, prediction, data):
    response = staff.patch(detail(prediction.pk), data)
    assert response.status_code == 400
    assert "true_label" in response.json()["fields"]


def test_image_served_to_owner_and_staff_with_safe_headers(alice, staff, prediction):
    url = reverse("api:prediction-image", args=[prediction.pk])
    for client in (alice, staff):
        response = client.get(url, HTTP_ACCEPT="image/png")
        assert response.status_code == 200
        assert response["Content-Type"] == "image/png"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in response["Content-Security-Policy"]
        data = b"".join(response.streaming_content)
        assert Image.open(io.BytesIO(data)).format == "PNG"


def test_image_of_missing_file_is_404(alice, prediction):
    prediction.image.storage.delete(prediction.image.name)
    response = alice.get(reverse("api:prediction-image", args=[prediction.pk]))
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
