"""One upload budget per user across the web form, the drawing pad and the API (hardening 1, 12)."""

import io

import pytest
from django.urls import reverse

from recognizer.budget import OverBudget, Rate, budget_spend
from recognizer.models import Prediction


def _form(client, png: bytes):
    return client.post(reverse("recognizer:upload"), {"image": io.BytesIO(png)})


def _pad(client, png: bytes):
    upload = io.BytesIO(png)
    upload.name = "drawing.png"
    return client.post(reverse("recognizer:draw"), {"image": upload})


def _api(client, png: bytes):
    upload = io.BytesIO(png)
    upload.name = "digit.png"
    return client.post(reverse("api:prediction-list"), {"image": upload})


@pytest.mark.django_db
def test_the_form_the_pad_and_the_api_share_one_budget(
    client, user, other_user, active_model, digit_png, settings
):
    settings.UPLOAD_RATE = "3/min"
    client.force_login(user)

    assert _form(client, digit_png).status_code == 302
    assert _pad(client, digit_png).status_code == 201
    assert _api(client, digit_png).status_code == 201
    refused = [_form(client, digit_png), _pad(client, digit_png), _api(client, digit_png)]

    assert [r.status_code for r in refused] == [429, 429, 429]
    assert "limit of 3 uploads per minute" in refused[0].content.decode()
    assert refused[1].json()["error"] == "throttled"
    assert "try again in" in refused[1].json()["detail"]
    assert refused[2].json()["error"] == "throttled"
    assert all(1 <= int(r["Retry-After"]) <= 60 for r in refused)
    assert Prediction.objects.count() == 3
    # Per user: someone else still has theirs.
    client.force_login(other_user)
    assert _form(client, digit_png).status_code == 302


@pytest.mark.django_db
def test_a_batch_larger_than_the_budget_is_charged_the_whole_budget():
    rate = Rate(count=5, seconds=60)
    budget_spend(key="k", rate=rate, cost=20)
    with pytest.raises(OverBudget):
        budget_spend(key="k", rate=rate)


def _wide_photo(digit_png: bytes, width: int = 3000, height: int = 1200) -> bytes:
    from PIL import Image

    canvas = Image.new("L", (width, height), 255)
    digit = Image.open(io.BytesIO(digit_png)).convert("L").resize((height // 2, height // 2))
    canvas.paste(digit, (width // 2, height // 4))
    buffer = io.BytesIO()
    canvas.save(buffer, format="WEBP", quality=60)
    return buffer.getvalue()


@pytest.mark.django_db
def test_the_stored_copy_is_bounded_to_2048_pixels(user, active_model, digit_png):
    from PIL import Image

    from recognizer import predictions

    upload = _wide_photo(digit_png)
    prediction = predictions.prediction_create(user=user, image_file=io.BytesIO(upload))

    with prediction.image.open("rb") as fh:
        stored = Image.open(fh)
        stored.load()
    assert stored.size == (2048, 819)
    assert prediction.stored_bytes == prediction.image.size + prediction.thumbnail.size
    # Within a small multiple of the upload, not 18x it as before.
    assert prediction.image.size < 10 * len(upload) + 500_000


@pytest.mark.django_db
def test_an_upload_past_the_storage_quota_is_refused_with_a_sentence(
    client, user, active_model, digit_png, settings
):
    client.force_login(user)
    assert _form(client, digit_png).status_code == 302
    used = Prediction.objects.owned_by(user).stored_bytes()
    settings.UPLOAD_QUOTA_BYTES = used + 100

    response = _form(client, digit_png)

    assert response.status_code == 400
    assert "Delete some uploads in your history to make room" in response.content.decode()
    assert Prediction.objects.count() == 1


@pytest.mark.django_db
def test_a_batch_over_the_pixel_budget_is_refused_before_any_decoding(
    client, user, active_model, digit_png, settings
):
    settings.UPLOAD_BATCH_MAX_PIXELS = 5_000_000
    client.force_login(user)
    files = []
    for n in range(2):
        upload = io.BytesIO(_wide_photo(digit_png))  # 3.6 million pixels each
        upload.name = f"{n}.webp"
        files.append(upload)

    response = client.post(reverse("api:prediction-list"), {"images": files})

    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "too_many_pixels"
    assert "at most 5 million" in body["detail"]
    assert Prediction.objects.count() == 0
