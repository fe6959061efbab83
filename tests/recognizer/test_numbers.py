"""Numbers in the write path: one upload, its digits as rows, refusals that store nothing."""

import io
from pathlib import Path

import pytest
from PIL import Image

from recognizer import images, model_versions, predictions
from recognizer.models import Digit, Prediction

from ..conftest import number_photo_bytes


def _stored_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.django_db
def test_a_number_is_one_upload_with_a_row_per_digit(user, active_model, number_png):
    prediction = predictions.prediction_create(user=user, image_file=io.BytesIO(number_png))

    prediction = Prediction.objects.get(pk=prediction.pk)
    digits = list(prediction.digits.order_by("position"))
    assert [d.position for d in digits] == [0, 1]
    assert prediction.text == "".join(str(d.digit) for d in digits)
    assert len(prediction.text) == 2
    assert prediction.digit is None and prediction.probabilities is None
    assert prediction.model_input_array is None
    assert prediction.confidence == pytest.approx(digits[0].confidence * digits[1].confidence)
    assert prediction.low_confidence == any(d.low_confidence for d in digits)
    with prediction.image.open("rb") as fh:
        width, height = Image.open(fh).size
    left, right = digits
    assert 0 <= left.x0 < left.x1 <= right.x0 < right.x1 <= width
    for d in digits:
        assert 0 <= d.y0 < d.y1 <= height
        assert len(bytes(d.model_input)) == 784
        assert len(d.probabilities) == 10
        assert d.confidence == max(d.probabilities)


@pytest.mark.django_db
def test_digit_mode_reads_a_number_image_as_one_digit(user, active_model, number_png):
    prediction = predictions.prediction_create(
        user=user, image_file=io.BytesIO(number_png), mode="digit"
    )

    assert prediction.mode == "digit"
    assert prediction.digits.count() == 1
    assert prediction.text == str(prediction.digit)


@pytest.mark.django_db
def test_a_one_digit_upload_says_what_its_digit_says(user, active_model, digit_png):
    prediction = predictions.prediction_create(user=user, image_file=io.BytesIO(digit_png))

    digit = prediction.digits.get()
    assert prediction.text == str(prediction.digit) == str(digit.digit)
    assert prediction.probabilities == digit.probabilities
    assert prediction.confidence == digit.confidence
    assert (prediction.model_input_array == digit.model_input_array).all()


@pytest.mark.django_db
def test_boxes_are_in_the_stored_images_pixels(user, active_model, mnist_test_slice):
    images_, _ = mnist_test_slice
    # 3 digits of 1200 px: the stored copy is bounded to 2048 px, about half the upload.
    data = number_photo_bytes([images_[0], images_[1], images_[2]], size=1200)
    assert Image.open(io.BytesIO(data)).width > 2 * images.STORED_MAX_SIDE

    prediction = predictions.prediction_create(user=user, image_file=io.BytesIO(data))

    with prediction.image.open("rb") as fh:
        width, height = Image.open(fh).size
    assert width == images.STORED_MAX_SIDE
    scale = width / Image.open(io.BytesIO(data)).width
    digits = list(prediction.digits.order_by("position"))
    assert len(digits) == 3
    for i, d in enumerate(digits):
        assert 0 <= d.x0 < d.x1 <= width and 0 <= d.y0 < d.y1 <= height
        # Each box sits over its digit's square of the upload, scaled to the stored copy.
        slot_x0, slot_y0 = (400 + i * 1600) * scale, 400 * scale
        slot_x1, slot_y1 = slot_x0 + 1200 * scale, slot_y0 + 1200 * scale
        assert slot_x0 - 2 <= d.x0 < (d.x0 + d.x1) / 2 < d.x1 <= slot_x1 + 2
        assert slot_y0 - 2 <= d.y0 < d.y1 <= slot_y1 + 2
        assert d.height > 0.5 * 1200 * scale


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("picture", "code"),
    [("blank", "no_digit"), ("two_lines", "several_lines"), ("many_marks", "too_many_marks")],
)
@pytest.mark.parametrize("with_model", [True, False])
def test_refusals_store_nothing(
    user, request, settings, mnist_test_slice, picture, code, with_model
):
    if with_model:
        request.getfixturevalue("active_model")
    paper = Image.new("L", (1200, 600), 255)
    if picture == "two_lines":
        line = Image.open(io.BytesIO(number_photo_bytes(list(mnist_test_slice[0][:3]), size=100)))
        paper = Image.new("L", (line.width, 2 * line.height), 255)
        paper.paste(line.convert("L"), (0, 0))
        paper.paste(line.convert("L"), (0, line.height))
    pixels = paper.load()

    def block(x0, y0, w, h):
        for x in range(x0, x0 + w):
            for y in range(y0, y0 + h):
                pixels[x, y] = 0

    if picture == "many_marks":
        for col in range(25):
            block(20 + col * 46, 250, 14, 100)
    with pytest.raises(images.UploadRejected) as excinfo:
        predictions.prediction_create(user=user, image_file=io.BytesIO(_png(paper)))

    assert excinfo.value.code == code
    assert Prediction.objects.count() == 0
    assert Digit.objects.count() == 0
    assert _stored_files(settings) == []


@pytest.mark.django_db
def test_repredict_reads_a_number_again_in_its_mode(user, number_png, tiny_artifact):
    prediction = predictions.prediction_create(
        user=user, image_file=io.BytesIO(number_png), mode="number"
    )
    assert prediction.status == Prediction.Status.FAILED
    assert prediction.digits.count() == 0

    model_versions.model_version_register(
        version="tiny-late",
        artifact_path=str(Path(tiny_artifact.path).resolve()),
        sha256=tiny_artifact.sha256,
        params={},
        metrics={},
    )
    prediction = predictions.prediction_run(prediction=Prediction.objects.get(pk=prediction.pk))

    assert prediction.status == Prediction.Status.DONE
    assert prediction.digits.count() == 2
    assert len(Prediction.objects.get(pk=prediction.pk).text) == 2


@pytest.mark.django_db
def test_repredict_keeps_the_digits_labels(user, staff_user, active_model, number_png):
    prediction = predictions.prediction_create(user=user, image_file=io.BytesIO(number_png))
    Digit.objects.filter(prediction=prediction, position=1).update(
        true_label=2, reviewed_by=staff_user
    )

    predictions.prediction_run(prediction=prediction)

    assert prediction.digits.get(position=1).true_label == 2
    assert prediction.digits.count() == 2
