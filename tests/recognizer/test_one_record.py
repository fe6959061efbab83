"""One record per read digit: the upload holds no label, and every screen that reads labels reads
them from the digits, in one order."""

import io
import re

import pytest
from django.urls import reverse

from recognizer import predictions, review
from recognizer.models import Digit, Prediction
from recognizer.stats import model_version_stats
from tests.conftest import copies_of

pytestmark = pytest.mark.django_db


def test_the_upload_holds_no_per_digit_or_label_field():
    fields = {f.name for f in Prediction._meta.get_fields()}
    assert fields == {
        "id",
        "owner",
        "image",
        "thumbnail",
        "original_filename",
        "source",
        "stored_bytes",
        "status",
        "error_message",
        "text",
        "mode",
        "model_version",
        "predict_ms",
        "personal_corrections",
        "created_at",
        "digits",
    }
    labels = {"user_label", "user_label_at", "true_label", "reviewed_by", "reviewed_at"}
    assert labels | {"excluded_from_training"} <= {f.name for f in Digit._meta.get_fields()}


def _number(upload: Prediction, text: str) -> Prediction:
    """A number read by the same model as `upload`, one digit row per character of `text`."""
    number = Prediction.objects.create(
        owner=upload.owner,
        image=upload.image.name,
        status=Prediction.Status.DONE,
        text=text,
        mode=Prediction.Mode.NUMBER,
        model_version=upload.model_version,
    )
    template = upload.digits.get()
    Digit.objects.bulk_create(
        Digit(
            prediction=number,
            position=i,
            x0=10 * i,
            y0=0,
            x1=10 * i + 9,
            y1=20,
            model_input=template.model_input,
            digit=int(c),
            confidence=0.9,
            probabilities=[0.9 if d == int(c) else 0.01 for d in range(10)],
        )
        for i, c in enumerate(text)
    )
    return number


def test_reviewing_3_digits_of_a_number_counts_3_more_in_the_models_stats(
    client, user, staff_user, active_model, digit_png
):
    one = predictions.prediction_create(user=user, image_file=io.BytesIO(digit_png))
    review.prediction_review(prediction=one, label=one.digit, reviewer=staff_user)
    number = _number(one, "305")
    before = model_version_stats(active_model)
    assert (before["reviewed"], before["accuracy"]) == (1, 1.0)

    client.force_login(staff_user)
    decide = reverse("api:prediction-decision", args=[number.pk])
    for position, label in [(0, 3), (1, 6), (2, 5)]:  # the middle digit was read wrong
        body = {"action": "label", "label": label, "position": position}
        assert client.post(decide, body, content_type="application/json").status_code == 200

    after = model_version_stats(active_model)
    assert after["reviewed"] == before["reviewed"] + 3
    assert after["accuracy"] == pytest.approx(3 / 4)
    confusion = {row["label"]: [c["count"] for c in row["cells"]] for row in after["confusion"]}
    assert confusion[6][0] == 1 and confusion[3][3] == 1 and confusion[5][5] == 1
    page = client.get(reverse("admin:recognizer_modelversion_stats", args=[active_model.pk]))
    assert re.search(r"75\.0%</span> of 4 reviewed", page.content.decode())


def test_a_claim_on_digit_2_of_a_number_leads_the_admin_list_as_it_leads_the_review_screen(
    client, user, staff_user, active_model, digit_png, number_png
):
    first = predictions.prediction_create(user=user, image_file=io.BytesIO(digit_png))
    singles = [first, *copies_of(first, 3)]
    shape = [(0.3, True), (0.2, True), (0.9, False), (0.6, False)]
    for upload, (confidence, low) in zip(singles, shape, strict=True):
        upload.digits.update(confidence=confidence, low_confidence=low)
    review.prediction_review(prediction=singles[3], label=1, reviewer=staff_user)
    number = predictions.prediction_create(user=user, image_file=io.BytesIO(number_png))
    second = number.digits.get(position=1)
    claim = (second.digit + 1) % 10
    predictions.prediction_feedback(prediction=number, label=claim, position=1)
    client.force_login(staff_user)

    listed = client.get(reverse("admin:recognizer_prediction_changelist"))
    screen = client.get(reverse("admin:recognizer_prediction_review"))

    rows = [p.pk for p in listed.context["cl"].result_list]
    items = list(dict.fromkeys(d.prediction_id for d in screen.context["items"]))
    low_first = [singles[1].pk, singles[0].pk, singles[2].pk]
    assert items == [number.pk, *low_first]
    assert rows == [*items, singles[3].pk]
    html = listed.content.decode()
    assert f"digit 2: {claim}" in html
    assert re.search(
        rf'data-id="{number.pk}" data-position="1"[^>]*\s+data-claim="{claim}"',
        screen.content.decode(),
    )
