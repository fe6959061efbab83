"""The first screen at 375x812 (touch) and 1280x800: the primary button is in view after
choosing a file and after drawing, the pad and its answer are seen together, the draw page says
one thing at a time, and refusals keep the user's files."""

import io

import pytest
from PIL import Image

from recognizer.models import Prediction
from testkit.browser import sign_up
from testkit.strokes import DIGIT_STROKES, draw_strokes
from tests.e2e.conftest import PASSWORD, assert_accessible
from tests.e2e.test_numbers import draw_number
from tests.e2e.test_site import NO_HORIZONTAL_SCROLL

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 375, "height": 812, "is_mobile": True, "has_touch": True}
DESKTOP = {"width": 1280, "height": 800}
SCREENS = pytest.mark.parametrize("screen", [PHONE, DESKTOP], ids=["phone", "desktop"])

# The element's box, and how much of it is inside the window (0..1), without scrolling.
BOX = """el => {
  const b = el.getBoundingClientRect();
  const shown = Math.max(0, Math.min(b.bottom, innerHeight) - Math.max(b.top, 0));
  return {top: b.top, bottom: b.bottom, left: b.left, right: b.right, shown: shown / b.height,
          width: innerWidth, height: innerHeight};
}"""


def box(page, test_id: str) -> dict:
    return page.get_by_test_id(test_id).evaluate(BOX)


def assert_within_viewport(page, test_id: str) -> None:
    b = box(page, test_id)
    assert b["top"] >= 0 and b["bottom"] <= b["height"], f"{test_id} is out of view: {b}"
    assert b["left"] >= 0 and b["right"] <= b["width"], f"{test_id} is out of view: {b}"


def png(color: str = "white", size: int = 200) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), color).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def on_screen(new_context, live_server):
    """A signed-up user's page on `screen`; any script error fails the test."""
    errors = []

    def make(screen: dict, name: str):
        page = new_context(**screen).new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        sign_up(page, live_server.url, name, PASSWORD)
        return page

    yield make
    assert errors == [], "the pages had script errors"


@SCREENS
@pytest.mark.usefixtures("active_model")
def test_read_it_is_in_view_after_choosing_a_file(on_screen, screen, digit_png, tmp_path):
    page = on_screen(screen, f"choose{screen['width']}")
    # The menu is one row: on a phone it once wrapped to two (about 120 px).
    assert page.locator(".nav").evaluate("el => el.getBoundingClientRect().height") < 60
    assert page.evaluate(NO_HORIZONTAL_SCROLL)["wider"] == []
    photo = tmp_path / "digit.png"
    photo.write_bytes(digit_png)

    page.get_by_test_id("upload-input").set_input_files(photo)
    page.locator("[data-upload-preview]:not([hidden])").wait_for()

    assert page.evaluate("scrollY") == 0
    assert_within_viewport(page, "upload-submit")
    page.get_by_test_id("upload-submit").click()
    page.wait_for_url("**/predictions/*/")
    assert page.url.endswith(f"/predictions/{Prediction.objects.get().pk}/")


@SCREENS
@pytest.mark.usefixtures("active_model")
def test_read_it_is_in_view_after_drawing_and_the_answer_beside_the_pad(on_screen, screen):
    page = on_screen(screen, f"pad{screen['width']}")
    page.goto("/draw/")
    draw_strokes(page, DIGIT_STROKES[4])

    assert_within_viewport(page, "draw-submit")
    page.get_by_test_id("draw-submit").click()
    page.wait_for_function(
        "() => /^Read \\d/.test(document.querySelector('[data-draw-status]').textContent)"
    )
    page.wait_for_function(
        f"() => ({BOX})(document.querySelector('[data-field=summary]')).shown >= 0.99",
        polling="raf",
    )

    # The pad and its answer are seen together, with the pad's button.
    assert_within_viewport(page, "predicted-digit")
    assert_within_viewport(page, "confidence")
    assert box(page, "draw-canvas")["shown"] > 0.9
    assert_within_viewport(page, "draw-submit")
    assert_accessible(page)


@pytest.mark.usefixtures("active_model")
def test_a_new_drawing_hides_the_old_answer_and_undo_brings_both_back(on_screen):
    page = on_screen(PHONE, "fresh")
    page.goto("/draw/")
    draw_strokes(page, DIGIT_STROKES[1])
    page.get_by_test_id("draw-submit").click()
    panel = page.get_by_test_id("result-panel")
    panel.wait_for()
    read = page.get_by_test_id("predicted-digit").text_content()
    drawing = Prediction.objects.get()
    # One rounding: the status line and the confidence agree.
    shown = page.get_by_test_id("confidence").text_content()
    assert page.locator("[data-draw-status]").text_content().startswith(f"Read {read} ({shown})")
    assert shown == f"{int(drawing.confidence * 100 + 1e-6)}%"

    page.get_by_test_id("draw-canvas").scroll_into_view_if_needed()
    first, *_ = DIGIT_STROKES[7]
    draw_strokes(page, [first])
    assert panel.is_hidden(), "a new drawing must not sit under the old answer"
    assert page.locator("[data-result-empty]").is_visible()

    page.get_by_test_id("draw-undo").click()  # the new stroke
    assert panel.is_hidden()
    page.get_by_test_id("draw-undo").click()  # back to the drawing that was read
    assert panel.is_visible()
    assert page.get_by_test_id("predicted-digit").text_content() == read

    page.get_by_test_id("draw-clear").click()
    assert panel.is_hidden()


@pytest.mark.usefixtures("active_model")
def test_each_digits_probabilities_say_which_digit_they_are(on_screen):
    page = on_screen(DESKTOP, "numbers")
    page.goto("/draw/")
    draw_number(page, "2026")
    page.get_by_test_id("draw-submit").click()
    page.get_by_test_id("digit-item").first.wait_for()

    drawing = Prediction.objects.get()
    digits = list(drawing.digits.order_by("position"))
    n = len(digits)
    title = page.get_by_test_id("prob-title")
    assert (
        title.text_content() == f"Digit 1 of {n} (the {digits[0].digit}): probability of each digit"
    )
    page.get_by_test_id("digit-item").nth(1).get_by_role("button").click()
    assert (
        title.text_content() == f"Digit 2 of {n} (the {digits[1].digit}): probability of each digit"
    )
    top = page.locator("[data-draw-result] .prob-top .prob-digit").text_content()
    assert top == str(digits[1].digit)


@pytest.mark.usefixtures("active_model")
def test_a_refused_upload_keeps_the_chosen_file(on_screen, tmp_path):
    page = on_screen(PHONE, "refused")
    blank = tmp_path / "blank.png"
    blank.write_bytes(png())
    page.get_by_test_id("upload-input").set_input_files(blank)
    page.get_by_test_id("upload-submit").click()

    error = page.get_by_role("alert").filter(has_text="still chosen")
    error.wait_for()
    assert Prediction.objects.count() == 0
    assert page.get_by_test_id("upload-input").evaluate("el => el.files[0].name") == "blank.png"
    assert error.evaluate(BOX)["shown"] >= 0.99
    assert_within_viewport(page, "upload-submit")


@SCREENS
@pytest.mark.usefixtures("active_model")
def test_a_refused_batch_keeps_the_good_files_and_names_the_bad_one_in_view(
    on_screen, screen, digit_png, tmp_path
):
    page = on_screen(screen, f"batch{screen['width']}")
    paths = []
    for name, data in [("one.png", digit_png), ("blank.png", png()), ("two.png", digit_png)]:
        path = tmp_path / name
        path.write_bytes(data)
        paths.append(path)

    page.get_by_test_id("batch-input").set_input_files(paths)
    page.get_by_test_id("batch-submit").click()

    error = page.get_by_role("alert").filter(has_text="“blank.png” (file 2 of 3)")
    error.wait_for()
    assert "the other 2 images are still chosen" in error.text_content()
    assert error.evaluate(BOX)["shown"] >= 0.99, "the message must be in view, not cut off"
    assert Prediction.objects.count() == 0
    names = page.get_by_test_id("batch-input").evaluate("el => [...el.files].map(f => f.name)")
    assert names == ["one.png", "two.png"]

    page.get_by_test_id("batch-submit").click()
    page.get_by_test_id("batch-result").first.wait_for()
    assert [p.original_filename for p in Prediction.objects.order_by("pk")] == names


@pytest.mark.usefixtures("active_model")
def test_a_numbers_digit_card_opens_at_the_digits_not_the_top(on_screen, number_png, tmp_path):
    page = on_screen(PHONE, "cards")
    photo = tmp_path / "number.png"
    photo.write_bytes(number_png)
    page.get_by_test_id("upload-input").set_input_files(photo)
    page.get_by_test_id("upload-submit").click()
    page.wait_for_url("**/predictions/*/")
    # The correction is near the top of a number's page.
    assert box(page, "feedback-label")["bottom"] < 812

    page.get_by_test_id("digit-item").nth(1).get_by_role("link").click()
    page.wait_for_url("**?digit=1#each-digit")
    assert page.evaluate("scrollY") > 0
    assert page.locator("#each-digit").evaluate(BOX)["shown"] >= 0.99
