"""The review screen in a real browser: keyboard only, 60 items, well over 60 a minute; the
live counter, the key for the owner's label, and the touch pad on a phone."""

import io
import re
import time

import pytest
from playwright.sync_api import expect

from recognizer import predictions
from recognizer.models import Digit, Prediction
from tests.conftest import copies_of
from tests.e2e.test_admin_pages import staff_page

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

BATCH = 60


def test_keyboard_review_of_sixty_items_in_well_under_a_minute(
    settings, live_server, context_as, user, staff_user, active_model, digit_png
):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    first = predictions.prediction_create(user=user, image_file=io.BytesIO(digit_png))
    rows = [first, *copies_of(first, BATCH - 1)]
    page = context_as(staff_user).new_page()
    failed: list[str] = []
    page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
    page.goto(f"{live_server.url}/admin/recognizer/prediction/review/")
    page.wait_for_selector(".review-item.current")
    # The queue is newest first among equals: decide in the order the page shows.
    shown = [
        int(pk) for pk in page.eval_on_selector_all(".review-item", "e => e.map(i => i.dataset.id)")
    ]
    assert sorted(shown) == sorted(p.pk for p in rows)

    keys = {}
    started = time.perf_counter()
    for i, pk in enumerate(shown):
        key = ["Enter", "x", str(i % 10)][i % 3]
        keys[pk] = key
        page.keyboard.press(key)
    expect(page.locator("#review-done")).to_have_text(str(BATCH), timeout=60_000)
    elapsed = time.perf_counter() - started
    print(f"review: {BATCH} decisions in {elapsed:.2f} s")

    assert elapsed < 60, f"{BATCH} decisions took {elapsed:.1f} s"
    assert "All done" in page.text_content("#review-status")
    assert failed == []
    for prediction in Prediction.objects.filter(pk__in=shown):
        key = keys[prediction.pk]
        if key == "Enter":
            assert prediction.true_label == prediction.digit
        elif key == "x":
            assert prediction.excluded_from_training and prediction.true_label is None
        else:
            assert prediction.true_label == int(key)
        assert prediction.reviewed_by == staff_user
        assert Digit.history.filter(prediction_id=prediction.pk).latest().history_user == staff_user


@pytest.fixture
def five_waiting(user, active_model, digit_png):
    """Five one-digit uploads waiting for review; the owner of the first claims another digit."""
    first = predictions.prediction_create(user=user, image_file=io.BytesIO(digit_png))
    rows = [first, *copies_of(first, 4)]
    claimed = rows[2]
    predictions.prediction_feedback(prediction=claimed, label=(claimed.digit + 1) % 10)
    return rows, claimed


def test_counter_goes_down_and_a_accepts_the_owners_label(
    context_as, live_server, staff_user, five_waiting
):
    _, claimed = five_waiting
    page, errors = staff_page(context_as, staff_user, 1280, 800)
    page.goto("/admin/recognizer/prediction/review/")
    waiting = page.get_by_test_id("review-waiting")
    expect(waiting).to_have_text("5")
    # Claims come first: the claimed upload is the selected one.
    expect(page.locator(".review-item.current")).to_have_attribute("data-id", str(claimed.pk))

    page.keyboard.press("a")
    expect(waiting).to_have_text("4")
    page.keyboard.press("a")  # the next item has no claim: nothing is sent
    expect(page.locator("#review-status")).to_contain_text("has no owner's label")
    page.keyboard.press("Enter")
    expect(waiting).to_have_text("3")
    expect(page.get_by_test_id("review-done")).to_have_text("2")

    claimed.refresh_from_db()
    assert claimed.true_label == claimed.user_label
    assert claimed.reviewed_by == staff_user
    assert Prediction.objects.filter(digits__true_label__isnull=False).count() == 2
    assert errors == []


def test_review_by_touch_on_a_phone(context_as, live_server, staff_user, five_waiting):
    rows, claimed = five_waiting
    page, errors = staff_page(context_as, staff_user, 375, 812, has_touch=True)
    page.goto("/admin/recognizer/prediction/review/")
    expect(page.locator(".review-item.current")).to_be_visible()

    buttons = page.locator(".review-pad button")
    assert buttons.count() == 14
    for i in range(buttons.count()):
        box = buttons.nth(i).bounding_box()
        assert box["width"] >= 44 and box["height"] >= 44, buttons.nth(i).inner_text()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 375
        # The pad stays in the window while the grid scrolls under it.
        assert box["y"] + box["height"] <= 812
    assert page.evaluate("document.documentElement.scrollWidth") <= 375

    page.get_by_test_id("review-accept").tap()
    others = [p for p in rows if p != claimed]
    target = page.locator(f".review-item[data-id='{others[-1].pk}']")
    target.tap()
    expect(target).to_have_class(re.compile(r"\bcurrent\b"))
    expect(page.get_by_test_id("review-accept")).to_be_disabled()
    page.get_by_role("button", name="Label 7").tap()
    page.get_by_test_id("review-exclude").tap()
    page.get_by_test_id("review-confirm").tap()
    expect(page.get_by_test_id("review-waiting")).to_have_text("1")

    claimed.refresh_from_db()
    assert claimed.true_label == claimed.user_label
    assert Prediction.objects.get(pk=others[-1].pk).true_label == 7
    assert Prediction.objects.filter(digits__excluded_from_training=True).count() == 1
    assert Prediction.objects.filter(digits__true_label__isnull=False).count() == 3
    assert errors == []
