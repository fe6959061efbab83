"""Numbers through the API: `mode` in, `text` and `digits` out, per-digit feedback."""

import io

import pytest
from django.urls import reverse
from PIL import Image

from recognizer import predictions
from recognizer.models import Digit, Prediction

from .conftest import named_file

pytestmark = pytest.mark.django_db

LIST = "/api/predictions/"


def upload(client, data: bytes, **fields):
    return client.post(LIST, {"image": named_file(data), **fields}, format="multipart")


def test_a_number_answers_text_and_each_digit(alice, active_model, number_png):
    response = upload(alice, number_png)

    assert response.status_code == 201
    body = response.json()
    prediction = Prediction.objects.get()
    assert body["mode"] == "auto"
    assert body["digit"] is None and body["model_input_url"] is None
    assert body["text"] == prediction.text and len(body["text"]) == 2
    digits = body["digits"]
    assert [d["position"] for d in digits] == [0, 1]
    assert "".join(str(d["digit"]) for d in digits) == body["text"]
    assert body["confidence"] == pytest.approx(digits[0]["confidence"] * digits[1]["confidence"])
    for d, row in zip(digits, prediction.digits.order_by("position"), strict=True):
        assert d["box"] == [row.x0, row.y0, row.x1, row.y1]
        assert len(d["probabilities"]) == 10
        assert d["model_input_url"] == reverse(
            "recognizer:digit_input", args=[prediction.pk, d["position"]]
        )
        assert d["user_label"] is None and d["true_label"] is None
    assert digits[0]["box"][2] <= digits[1]["box"][0]


def test_mode_digit_reads_one_digit(alice, active_model, number_png):
    body = upload(alice, number_png, mode="digit").json()

    assert body["mode"] == "digit"
    assert len(body["digits"]) == 1
    assert body["text"] == str(body["digit"])
    assert body["probabilities"] == body["digits"][0]["probabilities"]


def test_a_batch_takes_the_mode(alice, active_model, number_png):
    response = alice.post(
        LIST,
        {"images": [named_file(number_png), named_file(number_png)], "mode": "digit"},
        format="multipart",
    )

    assert response.status_code == 201
    assert [len(p["digits"]) for p in response.json()] == [1, 1]


def test_unknown_mode_is_400_and_stores_nothing(alice, active_model, number_png):
    response = upload(alice, number_png, mode="roman")

    assert response.status_code == 400
    assert "auto, digit, number" in str(response.json())
    assert Prediction.objects.count() == 0


def test_several_lines_are_a_400_with_the_sentence(alice, active_model, number_png):
    line = Image.open(io.BytesIO(number_png)).convert("L")
    page = Image.new("L", (line.width, 2 * line.height), 255)
    page.paste(line, (0, 0))
    page.paste(line, (0, line.height))
    buffer = io.BytesIO()
    page.save(buffer, format="PNG")

    response = upload(alice, buffer.getvalue())

    assert response.status_code == 400
    assert response.json()["error"] == "several_lines"
    assert response.json()["detail"]
    assert Prediction.objects.count() == 0


def test_list_filters_by_text_contained(alice, user, active_model, digit_png):
    a = predictions.prediction_create(user=user, image_file=io.BytesIO(digit_png))
    b = predictions.prediction_create(user=user, image_file=io.BytesIO(digit_png))
    Prediction.objects.filter(pk=a.pk).update(text="2026")
    Prediction.objects.filter(pk=b.pk).update(text="1999")

    ids = [p["id"] for p in alice.get(LIST, {"text": "02"}).json()["results"]]

    assert ids == [a.pk]
    assert alice.get(LIST, {"text": "x2"}).status_code == 400


def test_feedback_names_the_wrong_digit(alice, user, active_model, number_png):
    prediction = predictions.prediction_create(user=user, image_file=io.BytesIO(number_png))
    url = reverse("api:prediction-feedback", args=[prediction.pk])

    unsaid = alice.post(url, {"label": 7}, format="json")
    assert unsaid.status_code == 400
    assert "which digit" in unsaid.json()["detail"]
    assert alice.post(url, {"label": 7, "position": 2}, format="json").status_code == 400

    response = alice.post(url, {"label": 7, "position": 1}, format="json")

    assert response.status_code == 200
    assert [d["user_label"] for d in response.json()["digits"]] == [None, 7]
    digit = Digit.objects.get(prediction=prediction, position=1)
    assert digit.user_label == 7 and digit.user_label_at is not None
    assert digit.history.first().history_user == user
    # A number's claim is per digit; the upload's own claim field is for one digit only.
    assert Prediction.objects.get(pk=prediction.pk).user_label is None


def test_one_digit_feedback_without_position_claims_both(alice, prediction):
    url = reverse("api:prediction-feedback", args=[prediction.pk])

    response = alice.post(url, {"label": 3}, format="json")

    assert response.status_code == 200
    assert response.json()["user_label"] == 3
    assert response.json()["digits"][0]["user_label"] == 3
    assert prediction.digits.get().user_label == 3


def test_claiming_the_digit_already_read_is_refused(alice, user, active_model, number_png):
    # A claim jumps the staff queue, so one that corrects nothing is refused, as on the site.
    prediction = predictions.prediction_create(user=user, image_file=io.BytesIO(number_png))
    read = prediction.digits.get(position=1).digit
    url = reverse("api:prediction-feedback", args=[prediction.pk])

    response = alice.post(url, {"label": read, "position": 1}, format="json")

    assert response.status_code == 400
    assert response.json()["error"] == "invalid"
    assert f"already read digit 2 as {read}" in response.json()["detail"]
    assert prediction.digits.get(position=1).user_label is None
