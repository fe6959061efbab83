"""Every bad request answers {"error": code, "detail": sentence}, never a 500 or an HTML page."""

import io

import pytest
from django.urls import reverse
from PIL import Image
from rest_framework.test import APIClient

from recognizer.models import Prediction

from .conftest import named_file

pytestmark = pytest.mark.django_db

LIST = reverse("api:prediction-list")


def blank_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (100, 100), 255).save(buffer, format="PNG")
    return buffer.getvalue()


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["error"] == code
    assert isinstance(body["detail"], str) and len(body["detail"]) > 10
    return body


@pytest.mark.parametrize(
    ("make_bytes", "name", "code", "words"),
    [
        (lambda png: b"", "empty.png", "empty", "empty"),
        (lambda png: b"hello, this is text", "notes.png", "not_an_image", "not an image"),
        (lambda png: b"%PDF-1.4 fake", "scan.pdf", "unsupported_format", "PDF"),
        (lambda png: png[: len(png) // 2], "cut.png", "truncated", "truncated"),
        (lambda png: blank_png(), "blank.png", "no_digit", "No digit"),
    ],
)
def test_upload_refusals(alice, active_model, digit_png, make_bytes, name, code, words):
    response = alice.post(LIST, {"image": named_file(make_bytes(digit_png), name)}, "multipart")

    body = assert_error(response, 400, code)
    assert words in body["detail"]
    assert Prediction.objects.count() == 0


def test_too_large(alice, active_model, settings):
    settings.UPLOAD_MAX_BYTES = 1000
    response = alice.post(
        LIST, {"image": named_file(b"\x89PNG\r\n\x1a\n" + b"0" * 5000)}, "multipart"
    )
    body = assert_error(response, 400, "too_large")
    assert "1000 bytes" in body["detail"]


def test_too_many_pixels(alice, active_model, digit_png, settings):
    settings.UPLOAD_MAX_PIXELS = 10_000  # the digit photo is 280 x 280
    response = alice.post(LIST, {"image": named_file(digit_png)}, "multipart")
    body = assert_error(response, 400, "too_many_pixels")
    assert "280 x 280" in body["detail"]
    assert Prediction.objects.count() == 0


@pytest.mark.parametrize("data", [{}, {"image": "not a file"}, {"other": named_file(b"x")}])
def test_missing_image_field(alice, active_model, data):
    body = assert_error(alice.post(LIST, data, "multipart"), 400, "missing_field")
    assert "`image`" in body["detail"]


def test_too_many_files_in_a_batch(alice, active_model, digit_png):
    files = [named_file(digit_png, f"{i}.png") for i in range(21)]
    body = assert_error(alice.post(LIST, {"images": files}, "multipart"), 400, "too_many_files")
    assert "20" in body["detail"]
    assert Prediction.objects.count() == 0


def test_two_files_in_image_field(alice, active_model, digit_png):
    files = [named_file(digit_png), named_file(digit_png)]
    assert_error(alice.post(LIST, {"image": files}, "multipart"), 400, "too_many_files")


def test_image_and_images_together(alice, active_model, digit_png):
    data = {"image": named_file(digit_png), "images": [named_file(digit_png)]}
    assert_error(alice.post(LIST, data, "multipart"), 400, "invalid")
    assert Prediction.objects.count() == 0


def test_json_upload_is_415(alice, active_model):
    body = assert_error(
        alice.post(LIST, {"image": "abc"}, format="json"), 415, "unsupported_media_type"
    )
    assert "application/json" in body["detail"]


def test_malformed_json_is_parse_error(alice, prediction):
    response = alice.post(
        reverse("api:prediction-feedback", args=[prediction.pk]),
        data="{not json",
        content_type="application/json",
    )
    assert_error(response, 400, "parse_error")


def test_no_credentials_is_401_with_challenge(db):
    response = APIClient().get(LIST)
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Token"


def test_unknown_token_is_401(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    assert_error(client.get(LIST), 401, "authentication_failed")


def test_unknown_id_is_404(alice, db):
    body = assert_error(alice.get(reverse("api:prediction-detail", args=[999])), 404, "not_found")
    assert "999" in body["detail"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/nothing-here/",
        "/api/predictions",
        "/api/predictions/abc/",
        "/api/predictions/-1/",
        "/api/predictions/99999999999999999999999/",
        "/api/predictions/9223372036854775808/",
    ],
)
def test_unknown_urls_are_json_404(alice, db, path):
    assert_error(alice.get(path), 404, "not_found")
    assert_error(alice.post(path, {}), 404, "not_found")


def test_largest_id_is_a_clean_404(alice, db):
    assert_error(alice.get("/api/predictions/9223372036854775807/"), 404, "not_found")


def test_wrong_method_is_405(alice, prediction):
    response = alice.put(reverse("api:prediction-detail", args=[prediction.pk]), {"digit": 1})
    body = assert_error(response, 405, "method_not_allowed")
    assert "PUT" in body["detail"]
    assert "PATCH" in response["Allow"]


def test_unacceptable_accept_header_is_406(alice, db):
    assert_error(alice.get(LIST, HTTP_ACCEPT="text/html"), 406, "not_acceptable")


def test_no_active_model_is_404(alice, db):
    body = assert_error(alice.get(reverse("api:model-active")), 404, "not_found")
    assert "No model is active" in body["detail"]


def test_more_files_than_django_reads_is_400(alice, active_model, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 5
    files = [named_file(b"x", f"{i}.png") for i in range(6)]
    body = assert_error(alice.post(LIST, {"images": files}, "multipart"), 400, "too_many_files")
    assert "too many files" in body["detail"]


DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize("target", ["feedback", "review", "decision"])
def test_deeply_nested_json_is_a_400_not_a_crash(alice, client, staff_user, prediction, target):
    """Hardening 8: Python's JSON decoder raised RecursionError, a 500, on three endpoints."""
    client.force_login(staff_user)
    if target == "feedback":
        response = alice.post(
            reverse("api:prediction-feedback", args=[prediction.pk]),
            DEEP,
            content_type="application/json",
        )
    elif target == "review":
        response = client.patch(
            reverse("api:prediction-detail", args=[prediction.pk]),
            DEEP,
            content_type="application/json",
        )
    else:
        response = client.post(
            reverse("api:prediction-decision", args=[prediction.pk]),
            DEEP,
            content_type="application/json",
        )

    body = assert_error(response, 400, "parse_error")
    assert "nested too deeply" in body["detail"]


def test_a_body_announced_larger_than_any_batch_is_refused_before_it_is_read(alice, settings):
    """Hardening 15: no cap on a request body; now Content-Length over the limit is a 413."""
    response = alice.post(
        LIST, {"image": named_file(b"x")}, "multipart", CONTENT_LENGTH=str(500 * 1024 * 1024)
    )

    body = assert_error(response, 413, "too_large")
    assert "at most" in body["detail"] and "MB" in body["detail"]
    assert response["Connection"] == "close"
    assert Prediction.objects.count() == 0


def test_the_site_refuses_an_oversized_upload_body_with_a_sentence(client, user):
    client.force_login(user)
    response = client.post(
        reverse("recognizer:upload"), {"image": named_file(b"x")}, CONTENT_LENGTH="60000000"
    )
    assert response.status_code == 413
    assert "this server accepts at most" in response.content.decode()
