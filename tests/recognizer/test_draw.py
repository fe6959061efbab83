import io
import re

import pytest
from django.test import Client
from django.urls import reverse
from PIL import Image, ImageDraw

from recognizer.models import Prediction

pytestmark = pytest.mark.django_db


def png_file(data: bytes, name: str = "drawing.png") -> io.BytesIO:
    file = io.BytesIO(data)
    file.name = name
    return file


def blank_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (280, 280), "white").save(buffer, format="PNG")
    return buffer.getvalue()


def dot_png() -> bytes:
    """One click on the pad: a round dot of the pad's brush (7.5% of the canvas)."""
    image = Image.new("RGB", (280, 280), "white")
    ImageDraw.Draw(image).ellipse([130, 120, 151, 141], fill=(17, 17, 17))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_draw_page_requires_login(client):
    url = reverse("recognizer:draw")
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"


def test_draw_page_has_canvas_buttons_and_external_script(client, user):
    client.force_login(user)
    html = client.get(reverse("recognizer:draw")).content.decode()

    for hook in ["draw-canvas", "draw-submit", "draw-clear", "draw-undo", "predicted-digit"]:
        assert f'data-testid="{hook}"' in html
    assert 'data-testid="confidence"' in html
    assert html.count('class="prob-bar"') == 10
    assert 'src="/static/js/draw.js"' in html
    assert 'name="csrfmiddlewaretoken"' in html
    # Content-Security-Policy forbids inline scripts, handlers and style attributes.
    assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html) is None
    assert " onclick=" not in html
    assert " style=" not in html


def test_drawing_is_stored_as_drawing_and_answered_in_json(client, user, active_model, digit_png):
    client.force_login(user)
    response = client.post(reverse("recognizer:draw"), {"image": png_file(digit_png)})

    assert response.status_code == 201
    body = response.json()
    prediction = Prediction.objects.get()
    assert prediction.owner == user
    assert prediction.source == Prediction.Source.DRAWING
    assert prediction.thumbnail.name
    assert body["id"] == prediction.pk
    assert body["status"] == "done"
    assert body["digit"] == prediction.digit
    assert body["confidence"] == pytest.approx(prediction.confidence)
    assert len(body["probabilities"]) == 10
    assert body["model_version"] == active_model.version
    assert body["page_url"] == reverse("recognizer:detail", args=[prediction.pk])
    # The same shape as the API's prediction (one serializer).
    assert body["url"].endswith(reverse("api:prediction-detail", args=[prediction.pk]))
    assert body["model_input_url"] == reverse("recognizer:model_input", args=[prediction.pk])
    assert client.get(body["model_input_url"]).status_code == 200


@pytest.mark.parametrize(
    ("data", "error", "words"),
    [
        (blank_png(), "no_digit", "no digit found"),
        (dot_png(), "no_digit", "no digit found"),
        (b"%PDF-1.4 not a drawing", "unsupported_format", "not supported"),
        (b"", "no_image", "empty"),
    ],
    ids=["blank", "a lone dot", "pdf", "empty"],
)
def test_bad_drawing_is_400_with_a_sentence_and_nothing_stored(
    client, user, active_model, data, error, words
):
    client.force_login(user)
    response = client.post(reverse("recognizer:draw"), {"image": png_file(data)})

    assert response.status_code == 400
    body = response.json()
    assert body["error"] == error
    assert words in body["detail"].lower()
    assert Prediction.objects.count() == 0


def test_missing_file_is_400_json(client, user, active_model):
    client.force_login(user)
    response = client.post(reverse("recognizer:draw"), {})

    assert response.status_code == 400
    assert response.json() == {"error": "no_image", "detail": "Choose an image file to upload."}


def test_drawing_without_a_model_is_kept_and_explained(client, user, digit_png):
    client.force_login(user)
    response = client.post(reverse("recognizer:draw"), {"image": png_file(digit_png)})

    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "failed"
    assert "No model is active" in body["error_message"]
    assert Prediction.objects.get().status == Prediction.Status.FAILED


def test_drawing_needs_the_csrf_token(user, active_model, digit_png):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    page = client.get(reverse("recognizer:draw"))
    token = page.cookies["csrftoken"].value

    refused = client.post(reverse("recognizer:draw"), {"image": png_file(digit_png)})
    accepted = client.post(
        reverse("recognizer:draw"), {"image": png_file(digit_png)}, headers={"X-CSRFToken": token}
    )

    assert refused.status_code == 403
    assert accepted.status_code == 201
    assert Prediction.objects.count() == 1


def test_history_marks_drawings(client, user, active_model, digit_png):
    client.force_login(user)
    client.post(reverse("recognizer:draw"), {"image": png_file(digit_png)})
    client.post(reverse("recognizer:upload"), {"image": png_file(digit_png, "photo.png")})

    html = client.get(reverse("recognizer:history")).content.decode()

    assert html.count('data-testid="drawing-badge"') == 1
    assert "photo.png" in html


def test_upload_page_has_hooks_and_stays_a_plain_form(client, user):
    client.force_login(user)
    html = client.get(reverse("recognizer:upload")).content.decode()

    assert 'data-testid="upload-input"' in html
    assert 'data-testid="upload-submit"' in html
    assert 'enctype="multipart/form-data"' in html
    assert 'name="image"' in html
    assert 'src="/static/js/upload.js"' in html
    assert reverse("recognizer:draw") in html


def test_navigation_links_every_section(client, staff_user):
    client.force_login(staff_user)
    html = client.get(reverse("recognizer:draw")).content.decode()

    for url in [
        reverse("recognizer:upload"),
        reverse("recognizer:draw"),
        reverse("recognizer:history"),
        reverse("admin:index"),
        reverse("account"),
        reverse("logout"),
    ]:
        assert f'"{url}"' in html
    assert f'href="{reverse("recognizer:draw")}" aria-current="page"' in html


def test_history_serves_the_thumbnail_made_at_upload(client, user, active_model, digit_png):
    client.force_login(user)
    client.post(reverse("recognizer:draw"), {"image": png_file(digit_png)})
    prediction = Prediction.objects.get()
    with prediction.thumbnail.open("rb") as fh:
        stored = fh.read()

    html = client.get(reverse("recognizer:history")).content.decode()
    served = client.get(reverse("recognizer:thumbnail", args=[prediction.pk]))

    assert reverse("recognizer:thumbnail", args=[prediction.pk]) in html
    assert b"".join(served.streaming_content) == stored
    assert max(Image.open(io.BytesIO(stored)).size) <= 128
