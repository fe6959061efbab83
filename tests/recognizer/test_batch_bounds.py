"""A batch's work is bounded: by the pixels its decodes make, counted from the headers, and by a
time limit whatever the images hold, so that no batch keeps a worker near its timeout."""

import io

import pytest
from django.urls import reverse
from PIL import Image

from recognizer import images
from recognizer.models import Prediction

pytestmark = pytest.mark.django_db


def _blank(fmt: str, size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("L", size, 240).save(out, format=fmt)
    return out.getvalue()


def test_six_images_of_36_megapixels_are_refused_before_any_decoding(client, user, active_model):
    # The probe: 6 x 36 MP WebP fitted the old budget (250 MP) and took 22.8 s of the 30 s.
    blob = _blank("PNG", (7350, 4900))
    files = []
    for n in range(6):
        upload = io.BytesIO(blob)
        upload.name = f"{n}.png"
        files.append(upload)
    client.force_login(user)

    response = client.post(reverse("api:prediction-list"), {"images": files})

    assert response.status_code == 400
    assert response.json()["error"] == "too_many_pixels"
    assert "at most 100 million" in response.json()["detail"]
    assert Prediction.objects.count() == 0


def test_a_large_jpeg_counts_the_pixels_its_reduced_decode_makes():
    jpeg = _blank("JPEG", (4000, 3000))
    png = _blank("PNG", (4000, 3000))

    assert images.decoded_pixels(io.BytesIO(png)) == 12_000_000
    # Decoded at 1/8 scale: the reading needs no more, and the batch budget holds 20 such photos.
    assert images.decoded_pixels(io.BytesIO(jpeg)) == 500 * 375


def test_a_jpeg_decodes_to_the_size_its_header_count_said(settings):
    jpeg = _blank("JPEG", (4000, 3000))

    decoded = images.load_upload(io.BytesIO(jpeg))

    assert decoded.width * decoded.height == images.decoded_pixels(io.BytesIO(jpeg))


def test_twenty_phone_photos_fit_the_batch_budget(settings):
    jpeg = _blank("JPEG", (4000, 3000))

    assert 20 * images.decoded_pixels(io.BytesIO(jpeg)) <= settings.UPLOAD_BATCH_MAX_PIXELS


def test_a_batch_past_its_time_limit_stops_and_stores_nothing(
    client, user, active_model, digit_png, settings
):
    settings.UPLOAD_BATCH_MAX_SECONDS = 0
    files = []
    for n in range(3):
        upload = io.BytesIO(digit_png)
        upload.name = f"{n}.png"
        files.append(upload)
    client.force_login(user)

    response = client.post(reverse("api:prediction-list"), {"images": files})

    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "batch_too_slow"
    assert "after 1 of its 3 files" in body["detail"]
    assert Prediction.objects.count() == 0


def test_a_batch_within_its_time_limit_is_read(client, user, active_model, digit_png):
    files = []
    for n in range(2):
        upload = io.BytesIO(digit_png)
        upload.name = f"{n}.png"
        files.append(upload)
    client.force_login(user)

    response = client.post(reverse("api:prediction-list"), {"images": files})

    assert response.status_code == 201
    assert Prediction.objects.count() == 2
