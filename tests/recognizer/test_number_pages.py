"""The site for numbers: the prediction page, the per-digit input, history, the form, classify."""

import io
import json

import pytest
from django.core.management import call_command
from django.urls import reverse

from recognizer import predictions
from recognizer.models import Digit, Prediction

pytestmark = pytest.mark.django_db


@pytest.fixture
def number(user, active_model, number_png) -> Prediction:
    return predictions.prediction_create(user=user, image_file=io.BytesIO(number_png))


def test_page_shows_the_number_boxes_and_each_digit(client, user, number):
    client.force_login(user)

    html = client.get(reverse("recognizer:detail", args=[number.pk])).content.decode()

    assert f'data-testid="predicted-digit">{number.text}<' in html
    assert "The number is" in html
    digits = list(number.digits.order_by("position"))
    assert html.count('data-testid="digit-box"') == 2
    for d in digits:
        assert f'x="{d.x0}" y="{d.y0}" width="{d.width}" height="{d.height}"' in html
        assert reverse("recognizer:digit_input", args=[number.pk, d.position]) in html
    assert html.count('data-testid="digit-item"') == 2
    assert "style=" not in html  # the CSP forbids inline styles


def test_page_shows_the_selected_digits_probabilities(client, user, number):
    client.force_login(user)
    second = number.digits.get(position=1)

    html = client.get(reverse("recognizer:detail", args=[number.pk]), {"digit": 1}).content.decode()

    assert f"Digit 2 of 2 (the {second.digit}): probability of each digit" in html
    assert html.count('class="prob-bar"') == 10
    top = max(second.probabilities)
    assert f'value="{top:.4f}"' in html
    assert 'aria-current="true"' in html


def test_digit_input_is_a_png_for_the_owner_and_404_for_others(client, user, other_user, number):
    url = reverse("recognizer:digit_input", args=[number.pk, 1])
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert client.get(reverse("recognizer:digit_input", args=[number.pk, 5])).status_code == 404

    client.force_login(other_user)
    assert client.get(url).status_code == 404


def test_web_feedback_sets_the_named_digits_claim(client, user, number):
    client.force_login(user)
    url = reverse("recognizer:feedback", args=[number.pk])

    response = client.post(url, {"position": 1, "label": 4})

    assert response.status_code == 302
    assert number.digits.get(position=1).user_label == 4
    assert number.digits.get(position=0).user_label is None
    assert client.post(url, {"label": 4}).status_code == 400


def test_history_shows_the_number_and_filters_by_text(client, user, number, digit_png):
    one = predictions.prediction_create(user=user, image_file=io.BytesIO(digit_png))
    client.force_login(user)

    html = client.get(reverse("recognizer:history"), {"text": number.text}).content.decode()

    assert f'data-testid="history-text">{number.text}<' in html
    # A one-digit text never contains a two-digit one.
    assert reverse("recognizer:detail", args=[one.pk]) + '"' not in html


def test_upload_form_takes_the_mode(client, user, active_model, number_png):
    client.force_login(user)
    image = io.BytesIO(number_png)
    image.name = "n.png"

    response = client.post(reverse("recognizer:upload"), {"image": image, "mode": "digit"})

    assert response.status_code == 302
    prediction = Prediction.objects.get()
    assert prediction.mode == "digit" and prediction.digits.count() == 1
    assert 'name="mode" value="number"' in client.get(reverse("recognizer:upload")).content.decode()


def test_pad_posts_the_mode_and_answers_the_digits(client, user, active_model, number_png):
    client.force_login(user)
    image = io.BytesIO(number_png)
    image.name = "drawing.png"

    body = client.post(reverse("recognizer:draw"), {"image": image, "mode": "number"}).json()

    assert body["mode"] == "number"
    assert len(body["digits"]) == 2
    assert body["text"] == "".join(str(d["digit"]) for d in body["digits"])


def test_classify_prints_text_and_digits(active_model, number_png, digit_png, tmp_path, capsys):
    (tmp_path / "n.png").write_bytes(number_png)
    (tmp_path / "d.png").write_bytes(digit_png)

    call_command("classify", "--json", str(tmp_path / "n.png"), str(tmp_path / "d.png"))

    number, digit = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert number["digit"] is None and len(number["digits"]) == 2
    assert number["text"] == "".join(str(d["digit"]) for d in number["digits"])
    assert digit["digit"] == digit["digits"][0]["digit"] and digit["text"] == str(digit["digit"])
    assert len(digit["probabilities"]) == 10

    call_command("classify", "--json", "--mode", "digit", str(tmp_path / "n.png"))
    assert len(json.loads(capsys.readouterr().out)["digits"]) == 1


def test_classify_exits_1_when_a_file_is_refused(active_model, digit_png, tmp_path):
    (tmp_path / "bad.png").write_bytes(b"not an image")
    (tmp_path / "d.png").write_bytes(digit_png)

    with pytest.raises(SystemExit) as exit_:
        call_command("classify", str(tmp_path / "d.png"), str(tmp_path / "bad.png"))
    assert exit_.value.code == 1
    assert Digit.objects.count() == 0


def test_pad_refuses_an_unknown_mode_and_stores_nothing(client, user, active_model, number_png):
    client.force_login(user)
    image = io.BytesIO(number_png)
    image.name = "drawing.png"

    response = client.post(reverse("recognizer:draw"), {"image": image, "mode": "roman"})

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_mode"
    assert Prediction.objects.count() == 0
