"""The result page and its actions: the answer and "or maybe", corrections and what staff made of
them, deleting after a confirmation, history's empty filter, the CSRF page."""

import io
import re

import pytest
from django.test import Client
from django.urls import reverse

from recognizer import predictions, review
from recognizer.models import Digit, Prediction
from recognizer.templatetags.digits import RUNNER_UP_MARGIN, a_or_an, runner_up

pytestmark = pytest.mark.django_db


def probabilities(**by_digit: float) -> list[float]:
    """Ten probabilities: the ones named (d1=0.55, d7=0.38), the rest sharing what is left."""
    named = {int(k[1:]): v for k, v in by_digit.items()}
    rest = (1 - sum(named.values())) / (10 - len(named))
    return [named.get(d, rest) for d in range(10)]


def read_as(prediction: Prediction, probs: list[float], position: int = 0) -> None:
    """Make the stored reading of one digit (and of a one-digit upload) say `probs`."""
    top = max(range(10), key=lambda d: probs[d])
    Digit.objects.filter(prediction=prediction, position=position).update(
        digit=top, confidence=probs[top], probabilities=probs
    )
    if prediction.digits.count() == 1:
        Prediction.objects.filter(pk=prediction.pk).update(text=str(top))
    prediction.refresh_from_db()


def page(client, prediction, **query) -> str:
    return client.get(reverse("recognizer:detail", args=[prediction.pk]), query).content.decode()


@pytest.fixture
def number(user, active_model, number_png) -> Prediction:
    prediction = predictions.prediction_create(user=user, image_file=io.BytesIO(number_png))
    assert prediction.digits.count() == 2
    return prediction


# The rule


def test_runner_up_is_named_only_when_close_to_the_top():
    assert runner_up(probabilities(d1=0.55, d7=0.38)) == 7
    assert runner_up(probabilities(d1=0.90, d7=0.05)) is None
    assert runner_up(probabilities(d3=0.50, d5=0.50 - RUNNER_UP_MARGIN)) == 5
    assert runner_up(probabilities(d3=0.50, d5=0.50 - RUNNER_UP_MARGIN - 0.01)) is None
    assert runner_up(None) is None
    assert runner_up([]) is None


@pytest.mark.parametrize(
    ("number", "article"),
    [(8, "an"), (7, "a"), (0, "a"), (1, "a"), (11, "an"), (18, "an"), (80, "an"), (110, "a")],
)
def test_article_before_a_number(number, article):
    assert a_or_an(number) == article


# The answer


def test_a_close_runner_up_is_said_on_the_page_and_in_history(client, user, prediction):
    read_as(prediction, probabilities(d1=0.55, d7=0.38))
    client.force_login(user)

    html = page(client, prediction)
    listed = client.get(reverse("recognizer:history")).content.decode()

    assert 'data-testid="runner-up">1, or maybe 7 (38% against 55%)<' in html
    assert 'data-testid="history-runner-up">1, or maybe 7<' in listed


def test_a_clear_answer_has_no_runner_up(client, user, prediction):
    read_as(prediction, probabilities(d1=0.91, d7=0.03))
    client.force_login(user)
    assert "or maybe" not in page(client, prediction)


def test_each_digit_of_a_number_names_its_close_runner_up(client, user, number):
    read_as(number, probabilities(d2=0.50, d7=0.45), position=1)
    read_as(number, probabilities(d4=0.95, d9=0.01), position=0)
    client.force_login(user)

    html = page(client, number)

    assert html.count('data-testid="digit-runner-up"') == 1
    assert 'data-testid="digit-runner-up">2, or maybe 7<' in html
    assert 'data-testid="runner-up">Digit 2: 2, or maybe 7 (45% against 50%)<' in html


def test_result_page_leads_with_the_answer_and_offers_another(client, user, prediction):
    client.force_login(user)
    html = page(client, prediction)

    panel = html.index('data-testid="result-panel"')
    assert panel < html.index("<figure"), "the answer comes before the photo"
    assert html.index('data-testid="predicted-digit"') > panel
    assert re.search(r'href="/" data-testid="read-another"', html)
    # The heading names the page, not the row's number in the whole site's table.
    assert '<h1 id="result-title">Your upload' in html
    assert f"#{prediction.pk}" not in html
    assert len(re.findall(r'id="result-title"', html)) == 1


def test_a_drawing_offers_to_draw_another(client, user, prediction):
    Prediction.objects.filter(pk=prediction.pk).update(source=Prediction.Source.DRAWING)
    client.force_login(user)
    assert re.search(r'href="/draw/" data-testid="read-another"', page(client, prediction))


# Deleting


def test_only_the_owner_is_offered_delete(client, user, staff_user, prediction):
    delete_url = reverse("recognizer:delete", args=[prediction.pk])
    client.force_login(staff_user)
    staff_view = page(client, prediction)
    assert client.get(delete_url).status_code == 404

    client.force_login(user)
    owner_view = page(client, prediction)

    assert "Delete this prediction" not in staff_view
    assert delete_url not in staff_view
    assert "Delete this prediction" in owner_view and delete_url in owner_view


def test_delete_is_confirmed_then_done_with_a_message(client, user, prediction):
    client.force_login(user)
    url = reverse("recognizer:delete", args=[prediction.pk])

    confirm = client.get(url).content.decode()
    assert f'action="{url}"' in confirm and 'method="post"' in confirm
    assert Prediction.objects.filter(pk=prediction.pk).exists()

    response = client.post(url, follow=True)

    assert response.redirect_chain == [(reverse("recognizer:history"), 302)]
    assert "The prediction and its image were deleted." in response.content.decode()
    assert not Prediction.objects.filter(pk=prediction.pk).exists()


# Corrections


def feedback(client, prediction, **data):
    return client.post(reverse("recognizer:feedback", args=[prediction.pk]), data)


def label_select(html: str) -> str:
    return re.search(r'<select name="label".*?</select>', html, re.S).group(0)


def test_the_correction_starts_on_choose_and_refuses_none(client, user, prediction):
    client.force_login(user)
    select = label_select(page(client, prediction))
    assert re.search(r'<option value="" selected>Choose…</option>', select)
    assert select.count(" selected") == 1

    response = feedback(client, prediction, label="")

    assert response.status_code == 400
    assert "Choose the digit it really is." in response.content.decode()
    prediction.refresh_from_db()
    assert prediction.user_label is None


def test_claiming_what_was_read_is_refused_with_a_sentence_and_the_choice_kept(
    client, user, prediction
):
    read_as(prediction, probabilities(d3=0.9))
    client.force_login(user)

    response = feedback(client, prediction, label=3)

    html = response.content.decode()
    assert response.status_code == 400
    assert "Digits already read this as 3." in html
    assert '<option value="3" selected>' in label_select(html)
    prediction.refresh_from_db()
    assert prediction.user_label is None
    assert prediction not in Prediction.objects.claimed()


def test_a_claim_reads_an_8_and_stays_chosen_after_sending(client, user, prediction):
    read_as(prediction, probabilities(d3=0.9))
    client.force_login(user)

    assert feedback(client, prediction, label=8).status_code == 302
    html = page(client, prediction)

    assert 'You said this is an <strong data-testid="user-label">8</strong>.' in html
    assert "A reviewer will check it." in html
    assert '<option value="8" selected>' in label_select(html)
    assert not re.search(r"\ba (<[^>]+>)?8\b", html)


@pytest.mark.parametrize(
    ("staff_label", "outcome"),
    [
        (8, "Staff reviewed it and agreed: it is an 8."),
        (3, "Staff reviewed it and kept 3: the model read it right."),
        (5, "Staff reviewed it: it is a 5."),
    ],
)
def test_the_owner_sees_what_staff_made_of_the_claim(
    client, user, staff_user, prediction, staff_label, outcome
):
    read_as(prediction, probabilities(d3=0.9))
    predictions.prediction_feedback(prediction=prediction, label=8)
    review.prediction_review(prediction=prediction, label=staff_label, reviewer=staff_user)
    client.force_login(user)

    html = page(client, prediction)

    assert f'data-testid="claim-outcome">{outcome}<' in html
    assert "Is this wrong?" not in html  # reviewed: nothing left to claim


def test_a_numbers_correction_names_the_digit(client, user, number):
    read_as(number, probabilities(d4=0.9), position=0)
    read_as(number, probabilities(d2=0.9), position=1)
    client.force_login(user)

    refused = feedback(client, number, position=1, label=2)
    assert refused.status_code == 400
    assert "Digits already read digit 2 as 2." in refused.content.decode()
    # The refused claim's digit stays the chosen one.
    assert '<option value="1" selected>2: read as 2</option>' in refused.content.decode()

    assert feedback(client, number, position=1, label=7).status_code == 302
    html = page(client, number)
    assert "You said digit 2 (read as 2) is a <strong" in html
    assert number.digits.get(position=1).user_label == 7
    assert number.digits.get(position=0).user_label is None


# History


def test_a_filter_that_matches_nothing_says_so(client, user, prediction):
    read_as(prediction, probabilities(d3=0.9))
    client.force_login(user)

    html = client.get(reverse("recognizer:history"), {"digit": 5}).content.decode()

    assert "No predictions match these filters." in html
    assert 'href="/predictions/">Clear the filters</a>' in html
    assert "No predictions yet" not in html


def test_a_new_user_is_told_to_upload(client, user):
    client.force_login(user)
    html = client.get(reverse("recognizer:history")).content.decode()
    assert "No predictions yet." in html
    assert "No predictions match" not in html


# CSRF


def test_a_form_without_its_csrf_token_gets_the_sites_403_page(user, prediction):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)

    response = client.post(reverse("recognizer:feedback", args=[prediction.pk]), {"label": 8})

    html = response.content.decode()
    assert response.status_code == 403
    assert "This form has expired" in html
    assert 'class="site-header"' in html and "Log out" in html
    prediction.refresh_from_db()
    assert prediction.user_label is None
