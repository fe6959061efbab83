"""Pages that keep the user's work and say one thing: confidences rounded one way, refusals that
say what to do, a history filter that says when it is not applied, the favicon, a number's page
with its correction near the top and digit links that keep the place."""

import io

import pytest
from django.contrib.staticfiles import finders
from django.template import Context, Template
from django.urls import reverse

from recognizer import predictions
from recognizer.templatetags.digits import confidence

pytestmark = pytest.mark.django_db


def named(data: bytes, name: str) -> io.BytesIO:
    file = io.BytesIO(data)
    file.name = name
    return file


@pytest.mark.parametrize(
    ("value", "shown"),
    [(0.995, "99%"), (0.99999, "99%"), (1.0, "100%"), (0.55, "55%"), (0.38, "38%"), (0.004, "0%")],
)
def test_confidence_is_whole_percent_rounded_down(value, shown):
    assert confidence(value) == shown
    assert Template("{% load digits %}{{ v|confidence }}").render(Context({"v": value})) == shown


def test_a_result_page_shows_the_same_confidence_in_every_place(client, user, prediction):
    client.force_login(user)
    html = client.get(reverse("recognizer:detail", args=[prediction.pk])).content.decode()
    shown = confidence(prediction.confidence)
    assert f'data-testid="confidence">{shown}<' in html
    assert f'<span class="prob-value">{shown}</span>' in html


def test_a_history_filter_with_letters_is_refused_in_words(client, user, prediction):
    client.force_login(user)
    html = client.get(reverse("recognizer:history"), {"text": "abc"}).content.decode()
    assert 'data-testid="filter-errors"' in html
    assert "Number contains: Type digits only, like 42." in html
    assert "These filters were not applied" in html
    assert 'aria-invalid="true"' in html
    # Digits are a filter, with no complaint.
    html = client.get(reverse("recognizer:history"), {"text": "42"}).content.decode()
    assert 'data-testid="filter-errors"' not in html


def test_favicon_ico_leads_to_the_icon_and_the_admin_links_it(client, admin_client):
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"].endswith("img/favicon.svg")
    assert finders.find("img/favicon.svg")
    admin_home = admin_client.get(reverse("admin:index")).content.decode()
    assert 'rel="icon"' in admin_home and "img/favicon.svg" in admin_home


def test_a_numbers_correction_is_near_the_top_and_digit_links_keep_the_place(
    client, user, active_model, number_png
):
    number = predictions.prediction_create(user=user, image_file=io.BytesIO(number_png))
    client.force_login(user)
    html = client.get(reverse("recognizer:detail", args=[number.pk])).content.decode()

    # The correction comes with the answer, before the image and the per-digit details.
    assert html.index("Is this wrong?") < html.index('data-testid="digit-boxes"')
    assert html.index("Is this wrong?") < html.index('id="each-digit"')
    # Choosing a digit (a box or a card) opens the page at the digits, not at the top.
    assert html.count('href="?digit=1#each-digit"') == 2
    assert "Digit 1 of 2 (the " in html


def test_a_refused_upload_says_to_choose_the_file_again(client, user, active_model):
    client.force_login(user)
    response = client.post(
        reverse("recognizer:upload"), {"image": named(b"%PDF-1.4 fake", "scan.pdf")}
    )
    assert response.status_code == 400
    assert "The file was not kept: choose it again, or another one." in response.content.decode()


def test_a_refused_batch_says_so_at_the_top_and_marks_the_bad_file(
    client, user, active_model, digit_png
):
    client.force_login(user)
    files = [
        named(digit_png, "a.png"),
        named(b"%PDF-1.4 fake", "scan.pdf"),
        named(digit_png, "b.png"),
    ]
    response = client.post(reverse("recognizer:upload_batch"), {"images": files})

    html = response.content.decode()
    assert response.status_code == 400
    top = html.index('data-testid="batch-problem"')
    assert top < html.index("<h1")
    assert "“scan.pdf” (file 2 of 3)" in html[top : html.index("<h1")]
    # The script takes that file out and keeps the others (tests/e2e/test_first_screen.py).
    assert 'data-bad-file="1"' in html


def test_the_batch_field_speaks_of_digits_and_numbers(client, user):
    client.force_login(user)
    html = client.get(reverse("recognizer:upload")).content.decode()
    assert "Images, one digit or number in each" in html
    assert "one digit in each" not in html
