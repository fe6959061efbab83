"""The upload page in the browser: phones, photos over the limit, several files at once."""

import io

import numpy as np
import pytest
from PIL import Image

from recognizer.models import Prediction
from testkit.browser import sign_up
from tests.e2e.conftest import ARTIFACTS, PASSWORD, assert_accessible

pytestmark = pytest.mark.e2e

PHONE = {"width": 375, "height": 812, "is_mobile": True, "has_touch": True}
WIDER_THAN_SCREEN = """() => [...document.querySelectorAll('body *')]
  .filter(el => el.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
  .map(el => el.tagName + '.' + el.className)"""


def sideways_noisy_photo(digit_png: bytes, *, seed: int = 0) -> bytes:
    """A portrait JPEG stored sideways with EXIF orientation 6, as phones do, and grainy enough
    to be large."""
    digit = Image.open(io.BytesIO(digit_png)).convert("L")
    upright = Image.new("L", (600, 800), 255)
    upright.paste(digit, (160, 260))
    grain = np.random.default_rng(seed).normal(0, 12, (800, 600))
    pixels = np.clip(np.asarray(upright, dtype=np.float32) + grain, 0, 255).astype(np.uint8)
    # Orientation 6 means "turn 90° clockwise to show": store it turned the other way.
    stored = Image.fromarray(pixels).rotate(90, expand=True)
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    stored.convert("RGB").save(buffer, format="JPEG", quality=98, exif=exif)
    return buffer.getvalue()


@pytest.mark.usefixtures("active_model")
def test_a_photo_over_the_limit_is_shrunk_upright_in_the_browser(
    signed_up, live_server, digit_png, tmp_path, settings
):
    photo = sideways_noisy_photo(digit_png)
    settings.UPLOAD_MAX_BYTES = len(photo) // 3
    page = signed_up
    page.goto("/")
    path = tmp_path / "IMG_0001.jpeg"
    path.write_bytes(photo)

    page.get_by_test_id("upload-input").set_input_files(path)
    preview = page.get_by_alt_text("Preview of the image you chose")
    preview.wait_for()
    assert page.get_by_role("alert").filter(has_text="the limit is").count() == 0
    page.get_by_test_id("upload-submit").click()

    page.wait_for_url("**/predictions/*/")
    prediction = Prediction.objects.get()
    assert page.url.endswith(f"/predictions/{prediction.pk}/")
    assert prediction.original_filename == "IMG_0001.jpg"
    with prediction.image.open("rb") as stored:
        width, height = Image.open(stored).size
    assert width < height, "the EXIF orientation was lost"


def test_a_phone_gets_a_camera_button_and_no_drag_and_drop(new_context, live_server):
    page = new_context(**PHONE).new_page()
    sign_up(page, live_server.url, "phone", PASSWORD)

    camera = page.get_by_test_id("camera-input")
    assert camera.get_attribute("capture") == "environment"
    assert camera.get_attribute("accept") == "image/*"
    assert camera.get_attribute("name") == "image"
    assert page.get_by_text("Take a photo", exact=True).is_visible()
    assert page.get_by_text("Take a photo of the digit, or choose an image.").is_visible()
    assert not page.get_by_text("Drag and drop").is_visible()
    assert_accessible(page)


def test_a_desktop_gets_drag_and_drop_and_no_camera_button(signed_up):
    page = signed_up

    assert page.get_by_text("Drag and drop an image here, or choose a file.").is_visible()
    assert not page.get_by_text("Take a photo", exact=True).is_visible()


@pytest.mark.usefixtures("active_model")
def test_a_photo_taken_with_the_camera_is_read(new_context, live_server, digit_png, tmp_path):
    page = new_context(**PHONE).new_page()
    sign_up(page, live_server.url, "snap", PASSWORD)
    path = tmp_path / "photo.png"
    path.write_bytes(digit_png)

    page.get_by_test_id("camera-input").set_input_files(path)
    page.get_by_alt_text("Preview of the image you chose").wait_for()
    page.get_by_test_id("upload-submit").click()

    page.wait_for_url("**/predictions/*/")
    prediction = Prediction.objects.get()
    assert page.url.endswith(f"/predictions/{prediction.pk}/")
    assert prediction.original_filename == "photo.png"


@pytest.mark.usefixtures("active_model")
def test_several_files_at_once_give_one_result_each(signed_up, digit_png, tmp_path):
    page = signed_up
    paths = []
    for name in ["first.png", "second.png", "third.png"]:
        path = tmp_path / name
        path.write_bytes(digit_png)
        paths.append(path)

    page.get_by_test_id("batch-input").set_input_files(paths)
    page.get_by_test_id("batch-submit").click()

    results = page.get_by_test_id("batch-result")
    results.first.wait_for()
    assert results.count() == 3
    created = list(Prediction.objects.order_by("pk"))
    assert [p.original_filename for p in created] == ["first.png", "second.png", "third.png"]
    for row, prediction in zip(results.all(), created, strict=True):
        assert row.get_by_test_id("batch-digit").text_content() == str(prediction.digit)
        assert row.get_by_role("link").get_attribute("href") == f"/predictions/{prediction.pk}/"
    assert_accessible(page)
    results.nth(1).get_by_role("link").click()
    page.wait_for_url(f"**/predictions/{created[1].pk}/")


@pytest.mark.usefixtures("active_model")
def test_a_bad_file_in_a_batch_is_named_and_nothing_is_stored(signed_up, digit_png, tmp_path):
    page = signed_up
    good = tmp_path / "good.png"
    good.write_bytes(digit_png)
    blank = tmp_path / "blank.png"
    buffer = io.BytesIO()
    Image.new("RGB", (200, 200), "white").save(buffer, format="PNG")
    blank.write_bytes(buffer.getvalue())

    page.get_by_test_id("batch-input").set_input_files([good, blank])
    page.get_by_test_id("batch-submit").click()

    page.get_by_role("alert").filter(has_text="“blank.png” (file 2 of 2)").wait_for()
    assert Prediction.objects.count() == 0
    assert_accessible(page)


@pytest.mark.parametrize(
    "viewport", [PHONE, {"width": 1280, "height": 800}], ids=["phone", "desktop"]
)
def test_landing_and_upload_fit_the_screen(new_context, live_server, viewport):
    page = new_context(**viewport).new_page()
    width = viewport["width"]
    ARTIFACTS.mkdir(exist_ok=True)
    page.goto("/")
    page.get_by_test_id("landing-signup").wait_for()
    assert page.get_by_test_id("landing-login").is_visible()
    assert page.evaluate(WIDER_THAN_SCREEN) == []
    page.screenshot(path=ARTIFACTS / f"landing-{width}.png", full_page=True)

    page.get_by_test_id("landing-signup").click()
    page.get_by_label("Username").fill(f"fit{width}")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password confirmation").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    page.get_by_test_id("upload-input").wait_for()

    assert page.evaluate(WIDER_THAN_SCREEN) == []
    # The camera button shows exactly on touch screens. Chromium sometimes carries a previous
    # context's touch emulation over into a desktop one and drops it again a moment later, and
    # its CSS can lag its matchMedia while it does; so wait until the two agree (they never do
    # if the style is wrong), then ask what it is.
    page.wait_for_function(
        """() => matchMedia('(hover: none) and (pointer: coarse)').matches
            === (getComputedStyle(document.querySelector('.camera-choice')).display !== 'none')"""
    )
    touch = page.evaluate("() => matchMedia('(hover: none) and (pointer: coarse)').matches")
    if viewport.get("has_touch"):
        assert touch
    # Not full_page: Chromium drops the touch emulation (hover: none) for a full-page capture.
    page.screenshot(path=ARTIFACTS / f"upload-{width}.png")


def test_too_many_files_are_refused_before_sending(signed_up, live_server, digit_png, tmp_path):
    page = signed_up
    paths = []
    for i in range(21):
        path = tmp_path / f"{i}.png"
        path.write_bytes(digit_png)
        paths.append(path)

    page.get_by_test_id("batch-input").set_input_files(paths)
    refusal = "at most 20 images at a time; you chose 21"
    page.get_by_role("alert").filter(has_text=refusal).wait_for()
    page.get_by_test_id("batch-submit").click()

    assert page.url == f"{live_server.url}/"
    assert Prediction.objects.count() == 0
