"""The review screen in a real browser: keyboard only, 60 items, well over 60 a minute."""

import io
import time

import pytest
from django.conf import settings as django_settings
from django.test import Client
from playwright.sync_api import expect

from recognizer import predictions
from recognizer.models import Prediction
from tests.conftest import copies_of

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

BATCH = 60


def test_keyboard_review_of_sixty_items_in_well_under_a_minute(
    settings, live_server, new_context, user, staff_user, active_model, digit_png
):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    first = predictions.prediction_create(user=user, image_file=io.BytesIO(digit_png))
    rows = [first, *copies_of(first, BATCH - 1)]
    client = Client()
    client.force_login(staff_user)
    context = new_context()
    context.add_cookies(
        [
            {
                "name": django_settings.SESSION_COOKIE_NAME,
                "value": client.cookies[django_settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    page = context.new_page()
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
    assert [url for url in failed if not url.endswith("/favicon.ico")] == []
    for prediction in Prediction.objects.filter(pk__in=shown):
        key = keys[prediction.pk]
        if key == "Enter":
            assert prediction.true_label == prediction.digit
        elif key == "x":
            assert prediction.excluded_from_training and prediction.true_label is None
        else:
            assert prediction.true_label == int(key)
        assert prediction.reviewed_by == staff_user
        assert prediction.history.latest().history_user == staff_user
