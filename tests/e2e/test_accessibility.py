"""axe-core over every page a user sees: no serious or critical violation (the admin's pages:
test_admin_pages.py)."""

import io

import pytest
from django.contrib.auth import get_user_model

from recognizer import predictions
from testkit.browser import sign_up
from tests.e2e.conftest import ARTIFACTS, PASSWORD, axe_serious

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(("width", "scheme"), [(375, "light"), (1280, "light"), (1280, "dark")])
def test_site_pages_have_no_serious_accessibility_violations(
    new_context, live_server, active_model, digit_png, width, scheme
):
    page = new_context(width=width, height=812, color_scheme=scheme).new_page()
    ARTIFACTS.mkdir(exist_ok=True)
    problems = []
    for url in ["/", "/accounts/login/", "/accounts/signup/", "/no-such-page/"]:
        page.goto(url)
        problems += axe_serious(page)
    page.goto("/")
    page.screenshot(path=ARTIFACTS / f"landing-{width}-{scheme}.png", full_page=True)

    sign_up(page, live_server.url, f"axe{width}{scheme}", PASSWORD)
    owner = get_user_model().objects.get(username=f"axe{width}{scheme}")
    prediction = predictions.prediction_create(
        user=owner, image_file=io.BytesIO(digit_png), original_filename="mine.png"
    )
    for url in [
        "/",
        "/draw/",
        "/predictions/",
        f"/predictions/{prediction.pk}/",
        f"/predictions/batch/?ids={prediction.pk}",
        "/accounts/",
        "/accounts/token/",
        "/accounts/password_change/",
        "/accounts/password_reset/",
    ]:
        page.goto(url)
        problems += axe_serious(page)
        if url in ("/", "/predictions/batch/?ids=" + str(prediction.pk)):
            name = "upload" if url == "/" else "batch"
            page.screenshot(path=ARTIFACTS / f"{name}-{width}-{scheme}.png", full_page=True)

    assert problems == [], "\n".join(problems)


# The admin's pages: tests/e2e/test_admin_pages.py.
