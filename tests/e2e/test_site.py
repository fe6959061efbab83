import io

import pytest
from django.contrib.auth import get_user_model
from PIL import Image

from recognizer.models import Prediction
from testkit.browser import log_in, sign_up
from testkit.strokes import DIGIT_STROKES, draw_strokes
from tests.e2e.conftest import PASSWORD

pytestmark = pytest.mark.e2e

INK_PIXELS = """() => {
  const canvas = document.querySelector('[data-testid="draw-canvas"]');
  const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let ink = 0;
  for (let i = 0; i < pixels.length; i += 4) if (pixels[i] < 128) ink++;
  return ink;
}"""

NO_HORIZONTAL_SCROLL = """() => {
  const root = document.documentElement;
  const wider = [...document.querySelectorAll('body *')]
    .filter(el => el.getBoundingClientRect().right > root.clientWidth + 1)
    .map(el => el.tagName + '.' + el.className);
  return {scroll: root.scrollWidth, client: root.clientWidth, wider: wider};
}"""


def nav(page, name: str):
    return page.get_by_role("navigation", name="Main").get_by_role("link", name=name, exact=True)


def write_png(path, data: bytes):
    path.write_bytes(data)
    return path


@pytest.mark.usefixtures("active_model")
def test_draw_upload_history_and_staff_correction(
    signed_up, new_context, live_server, digit_png, tmp_path, django_user_model
):
    page = signed_up
    nav(page, "Draw").click()

    draw_strokes(page, DIGIT_STROKES[7])
    page.get_by_test_id("draw-submit").click()

    digit = page.get_by_test_id("predicted-digit")
    digit.wait_for()
    assert digit.text_content() in {str(d) for d in range(10)}
    assert page.get_by_test_id("confidence").text_content().endswith("%")
    assert page.locator("[data-draw-result] progress.prob-bar").count() == 10
    model_input = page.get_by_alt_text("The 28 by 28 image the model saw")
    page.wait_for_function(
        "img => img.complete && img.naturalWidth === 28", arg=model_input.element_handle()
    )
    drawing = Prediction.objects.get(source=Prediction.Source.DRAWING)
    assert digit.text_content() == str(drawing.digit)
    assert page.url.endswith("/draw/"), "the result must appear without leaving the page"
    page.get_by_role("link", name="Open this prediction").click()
    page.wait_for_url(f"**/predictions/{drawing.pk}/")
    assert page.get_by_test_id("predicted-digit").text_content() == str(drawing.digit)

    nav(page, "Upload").click()
    page.get_by_test_id("upload-input").set_input_files(
        write_png(tmp_path / "seven.png", digit_png)
    )
    page.get_by_test_id("upload-submit").click()
    page.wait_for_url("**/predictions/*/")
    upload = Prediction.objects.get(source=Prediction.Source.UPLOAD)
    assert page.url.endswith(f"/predictions/{upload.pk}/")
    assert page.get_by_test_id("predicted-digit").text_content() == str(upload.digit)
    assert page.get_by_test_id("confidence").is_visible()

    nav(page, "History").click()
    items = page.locator(".history-item")
    assert items.count() == 2
    assert items.nth(0).get_by_text("seven.png").is_visible()
    assert items.nth(1).get_by_test_id("drawing-badge").text_content() == "Drawing"
    assert items.nth(0).get_by_test_id("drawing-badge").count() == 0
    page.wait_for_function(
        "() => [...document.querySelectorAll('.history-item img')]"
        ".every(i => i.complete && i.naturalWidth > 0)"
    )

    django_user_model.objects.create_user(
        username="reviewer", password=PASSWORD, is_staff=True, is_superuser=True
    )
    corrected = (drawing.digit + 1) % 10
    staff = new_context().new_page()
    log_in(staff, live_server.url, "reviewer", PASSWORD, next_url="/admin/recognizer/prediction/")
    row = staff.locator(
        "#result_list tbody tr", has=staff.get_by_role("link", name=str(drawing.pk), exact=True)
    )
    row.locator("select[name$='-true_label']").select_option(str(corrected))
    staff.get_by_role("button", name="Save").click()
    staff.get_by_text("was changed successfully").wait_for()

    page.goto(f"/predictions/{drawing.pk}/")
    assert page.get_by_test_id("true-label").text_content() == str(corrected)
    nav(page, "History").click()
    assert page.get_by_text(f"reviewed: {corrected}").is_visible()


def test_undo_removes_the_last_stroke_and_clear_can_be_undone(signed_up):
    page = signed_up
    page.goto("/draw/")
    undo, clear = page.get_by_test_id("draw-undo"), page.get_by_test_id("draw-clear")
    assert undo.is_disabled() and clear.is_disabled()

    first, second = DIGIT_STROKES[4]
    draw_strokes(page, [first])
    one_stroke = page.evaluate(INK_PIXELS)
    draw_strokes(page, [second])
    two_strokes = page.evaluate(INK_PIXELS)
    assert 0 < one_stroke < two_strokes

    undo.click()
    assert page.evaluate(INK_PIXELS) == one_stroke

    clear.click()
    assert page.evaluate(INK_PIXELS) == 0
    assert clear.is_disabled()

    undo.click()
    assert page.evaluate(INK_PIXELS) == one_stroke
    undo.click()
    assert page.evaluate(INK_PIXELS) == 0
    assert undo.is_disabled()

    draw_strokes(page, [first])
    page.keyboard.press("Control+z")
    assert page.evaluate(INK_PIXELS) == 0


def test_empty_canvas_is_not_sent(signed_up):
    page = signed_up
    page.goto("/draw/")
    requests = []
    page.on("request", lambda r: requests.append(r) if r.method == "POST" else None)

    page.get_by_test_id("draw-submit").click()

    assert page.get_by_role("status").filter(has_text="The canvas is empty").is_visible()
    assert requests == []
    assert Prediction.objects.count() == 0


def test_model_unavailable_is_explained_on_the_pad(signed_up):
    # No active model: the drawing is kept, and the page says in plain words why it is unread.
    page = signed_up
    page.goto("/draw/")
    draw_strokes(page, DIGIT_STROKES[1])
    page.get_by_test_id("draw-submit").click()

    page.locator(".draw-status-error").wait_for()
    status = page.locator("[data-draw-status]").text_content()
    assert status.startswith("We saved your drawing but could not read it")
    assert "model" in status.lower()
    assert page.get_by_test_id("predicted-digit").is_hidden()
    assert Prediction.objects.get().status == Prediction.Status.FAILED


def test_touch_draws_without_scrolling_the_page(new_context, live_server):
    context = new_context(width=375, height=600, has_touch=True, is_mobile=True)
    page = context.new_page()
    sign_up(page, live_server.url, "tara", PASSWORD)
    page.goto("/draw/")
    canvas = page.get_by_test_id("draw-canvas")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    scroll_before = page.evaluate("window.scrollY")
    cdp = context.new_cdp_session(page)
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] * 0.2
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
    for step in range(1, 21):
        point = {"x": x, "y": y + box["height"] * 0.6 * step / 20}
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [point]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})

    assert page.evaluate(INK_PIXELS) > 0
    assert page.evaluate("window.scrollY") == scroll_before


def test_upload_preview_and_wrong_type_message(signed_up, live_server, tmp_path):
    page = signed_up
    notes = tmp_path / "notes.txt"
    notes.write_text("not an image")

    page.get_by_test_id("upload-input").set_input_files(notes)
    error = page.get_by_role("alert").filter(has_text="not a supported image")
    assert error.is_visible()
    page.get_by_test_id("upload-submit").click()
    assert page.url == f"{live_server.url}/"
    assert Prediction.objects.count() == 0

    blank = io.BytesIO()
    Image.new("RGB", (200, 200), "white").save(blank, format="PNG")
    page.get_by_test_id("upload-input").set_input_files(
        write_png(tmp_path / "blank.png", blank.getvalue())
    )
    assert error.count() == 0
    preview = page.get_by_alt_text("Preview of the image you chose")
    page.wait_for_function(
        "img => img.complete && img.naturalWidth === 200", arg=preview.element_handle()
    )
    page.get_by_test_id("upload-submit").click()
    # The server's refusal comes back next to the form, in plain words.
    page.get_by_role("alert").filter(has_text="No digit found").wait_for()
    assert Prediction.objects.count() == 0


@pytest.mark.usefixtures("active_model")
def test_upload_works_without_javascript(new_context, live_server, digit_png, tmp_path):
    get_user_model().objects.create_user(username="nojs", password=PASSWORD)
    page = new_context(java_script_enabled=False).new_page()
    log_in(page, live_server.url, "nojs", PASSWORD)

    page.get_by_test_id("upload-input").set_input_files(write_png(tmp_path / "d.png", digit_png))
    page.get_by_test_id("upload-submit").click()

    page.wait_for_url("**/predictions/*/")
    prediction = Prediction.objects.get()
    assert page.url.endswith(f"/predictions/{prediction.pk}/")
    assert page.get_by_test_id("predicted-digit").text_content() == str(prediction.digit)


@pytest.mark.parametrize("width", [375, 1280])
@pytest.mark.usefixtures("active_model")
def test_pages_fit_the_screen_without_horizontal_scroll(new_context, live_server, width):
    page = new_context(width=width, height=800).new_page()
    page.goto("/accounts/login/")
    assert page.evaluate(NO_HORIZONTAL_SCROLL)["wider"] == []
    sign_up(page, live_server.url, f"narrow{width}", PASSWORD)
    page.goto("/draw/")
    draw_strokes(page, DIGIT_STROKES[3])
    page.get_by_test_id("draw-submit").click()
    page.get_by_test_id("predicted-digit").wait_for()
    prediction = Prediction.objects.get()

    for url in ["/", "/draw/", "/predictions/", f"/predictions/{prediction.pk}/"]:
        if url != "/draw/":
            page.goto(url)
        layout = page.evaluate(NO_HORIZONTAL_SCROLL)
        assert layout["scroll"] <= layout["client"], (url, layout)
        assert layout["wider"] == [], (url, layout)
