"""Marks that are not digits are refused at every entrance, with a sentence, and nothing is kept;
what staff reviewed as "not a digit" teaches the next detector."""

import io

import numpy as np
import pytest
from django.core.management import call_command
from django.urls import reverse

from ml.digitness import CLASSES
from ml.digitness_data import load_examples
from recognizer import predictions, registry, review
from recognizer.models import Digit, ModelVersion, Prediction
from recognizer.retraining_data import not_a_digit_examples
from tests.api.conftest import named_file, token_client
from tests.ml.helpers import nondigit_upload

SENTENCE = "This doesn't look like a digit or a number"


@pytest.fixture(scope="module")
def heart():
    return nondigit_upload("heart", "photo")


@pytest.fixture(scope="module")
def letter_k():
    return nondigit_upload("letter K", "pad")


def _nothing_kept(settings):
    assert Prediction.objects.count() == 0
    assert Digit.objects.count() == 0
    media = settings.MEDIA_ROOT
    assert not media.exists() or not [p for p in media.rglob("*") if p.is_file()]


@pytest.mark.django_db
def test_the_upload_form_refuses_a_heart_with_a_sentence(
    client, user, active_model_with_detector, heart, settings
):
    client.force_login(user)
    response = client.post(reverse("recognizer:upload"), {"image": named_file(heart, "h.jpg")})
    assert response.status_code == 400
    assert SENTENCE in response.content.decode().replace("&#x27;", "'")
    _nothing_kept(settings)


@pytest.mark.django_db
def test_the_pad_refuses_a_letter(client, user, active_model_with_detector, letter_k, settings):
    client.force_login(user)
    response = client.post(reverse("recognizer:draw"), {"image": named_file(letter_k, "k.png")})
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "not_a_digit"
    assert body["detail"].startswith(SENTENCE)
    _nothing_kept(settings)


@pytest.mark.django_db
def test_the_api_refuses_one_file_and_a_batch_holding_one(
    user, active_model_with_detector, heart, digit_png, settings
):
    api = token_client(user)
    url = reverse("api:prediction-list")
    single = api.post(url, {"image": named_file(heart, "h.jpg")}, format="multipart")
    assert single.status_code == 400
    assert single.json()["error"] == "not_a_digit"
    assert single.json()["detail"].startswith(SENTENCE)
    files = [named_file(digit_png, "d.png"), named_file(heart, "heart.jpg")]
    batch = api.post(url, {"images": files}, format="multipart")
    assert batch.status_code == 400
    assert (batch.json()["error"], batch.json()["index"]) == ("not_a_digit", 1)
    _nothing_kept(settings)


@pytest.mark.django_db
def test_classify_says_it_is_not_a_digit(active_model_with_detector, heart, tmp_path, capsys):
    (tmp_path / "heart.jpg").write_bytes(heart)
    with pytest.raises(SystemExit) as exit_:
        call_command("classify", str(tmp_path / "heart.jpg"))
    assert exit_.value.code == 1
    assert SENTENCE in capsys.readouterr().out


@pytest.mark.django_db
def test_a_digit_is_still_read_and_kept(user, active_model_with_detector, digit_png):
    prediction = predictions.prediction_create(
        user=user, image_file=io.BytesIO(digit_png), original_filename="mine.png"
    )
    assert prediction.digits.count() == 1


@pytest.mark.django_db
def test_reviewed_not_a_digit_marks_teach_the_detector(user, staff_user, active_model, digit_png):
    upload = predictions.prediction_create(
        user=user, image_file=io.BytesIO(digit_png), original_filename="mine.png"
    )
    other = predictions.prediction_create(
        user=user, image_file=io.BytesIO(digit_png), original_filename="two.png"
    )
    review.prediction_review(prediction=upload, label=10, reviewer=staff_user)
    review.prediction_review(prediction=other, label=3, reviewer=staff_user)

    examples = not_a_digit_examples(first_group=100)

    digit = upload.digits.get()
    assert len(examples) == 1
    assert examples.labels.tolist() == [CLASSES.index("other")]
    assert examples.groups.tolist() == [100]
    assert examples.lone.tolist() == [True]
    assert examples.boxes[0].tolist() == list(digit.box)
    np.testing.assert_array_equal(examples.inputs[0] * 255, digit.model_input_array)


@pytest.mark.django_db
def test_a_retrained_model_has_a_detector_that_learned_the_reviewed_marks(
    user, staff_user, active_model, digit_png, settings, tmp_path
):
    examples = load_examples()
    uploads = np.unique(examples.groups)
    few = np.isin(examples.groups, np.random.default_rng(1).choice(uploads, 600, replace=False))
    settings.DIGITNESS_EXAMPLES = str(examples.take(few).save(tmp_path / "examples.npz"))
    upload = predictions.prediction_create(
        user=user, image_file=io.BytesIO(digit_png), original_filename="mine.png"
    )
    review.prediction_review(prediction=upload, label=10, reviewer=staff_user)

    call_command(
        "retrain", "--force", "--n-estimators", "1", "--mnist-limit", "300", stdout=io.StringIO()
    )

    version = ModelVersion.objects.active()
    assert version != active_model
    assert version.params["digitness_examples"] == few.sum() + 1
    assert set(version.metrics["digitness"]) >= {"lone", "mean", "piece", "refused_other"}
    _, model = registry.get_active_model()
    assert model.digitness is not None
