"""A number drawn across the wide pad is read digit by digit."""

import itertools

import pytest

from recognizer.models import Prediction
from testkit.strokes import DIGIT_STROKES, densify

pytestmark = pytest.mark.e2e


def draw_number(page, text: str) -> None:
    """Write the digits of `text` side by side across the pad, each in its own square."""
    page.wait_for_load_state("load")
    box = page.get_by_test_id("draw-canvas").bounding_box()
    side = 0.95 * min(box["height"], box["width"] / len(text))
    left = box["x"] + (box["width"] - side * len(text)) / 2
    top = box["y"] + (box["height"] - side) / 2
    for i, char in enumerate(text):
        for stroke in DIGIT_STROKES[int(char)]:
            points = [(left + (i + x) * side, top + y * side) for x, y in densify(stroke)]
            page.mouse.move(*points[0])
            page.mouse.down()
            for point in points[1:]:
                page.mouse.move(*point)
            page.mouse.up()


@pytest.mark.usefixtures("active_model")
def test_a_number_drawn_on_the_wide_pad_reads_as_four_digits(signed_up):
    page = signed_up
    page.goto("/draw/")
    box = page.get_by_test_id("draw-canvas").bounding_box()
    assert box["width"] > 2 * box["height"], "wide screens get a wide pad"

    draw_number(page, "2026")
    page.get_by_test_id("draw-submit").click()
    page.get_by_test_id("digit-item").first.wait_for()

    drawing = Prediction.objects.get()
    digits = list(drawing.digits.order_by("position"))
    assert len(digits) == 4
    assert all(a.x1 <= b.x0 for a, b in itertools.pairwise(digits))
    assert page.get_by_test_id("predicted-digit").text_content() == drawing.text
    assert len(drawing.text) == 4
    assert page.get_by_test_id("digit-item").count() == 4
    assert page.get_by_text("The number is").is_visible()

    page.get_by_role("link", name="Open this prediction").click()
    page.wait_for_url(f"**/predictions/{drawing.pk}/")
    assert page.get_by_test_id("digit-box").count() == 4
    page.get_by_test_id("digit-item").nth(2).get_by_role("link").click()
    assert page.get_by_test_id("prob-title").text_content().startswith("Digit 3 of 4 (the ")
    assert page.url.endswith("?digit=2#each-digit")
