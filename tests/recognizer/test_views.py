import io

import pytest
from django.urls import reverse

from recognizer import predictions, registry, review
from recognizer.models import Prediction
from tests.ml.helpers import dot_line_png

pytestmark = pytest.mark.django_db


def upload(client, data: bytes, name: str = "digit.png"):
    file = io.BytesIO(data)
    file.name = name
    return client.post(reverse("recognizer:upload"), {"image": file})


@pytest.mark.parametrize("name", ["recognizer:history", "recognizer:draw"])
def test_pages_require_login(client, name):
    url = reverse(name)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"


def test_visitors_get_the_landing_page_with_sign_up_and_log_in(client):
    response = client.get(reverse("recognizer:upload"))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Digits reads handwritten digits" in html
    assert f'href="{reverse("signup")}" data-testid="landing-signup"' in html
    assert f'href="{reverse("login")}" data-testid="landing-login"' in html
    assert 'type="file"' not in html


def test_a_visitors_upload_is_sent_to_log_in_and_stores_nothing(client, digit_png):
    response = upload(client, digit_png)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={reverse('recognizer:upload')}"
    assert Prediction.objects.count() == 0


def test_users_get_the_upload_form_at_the_root(client, user):
    client.force_login(user)
    html = client.get(reverse("recognizer:upload")).content.decode()

    assert 'name="image"' in html
    assert 'data-testid="landing-signup"' not in html


def test_prediction_pages_require_login(client, prediction):
    for name in ["detail", "image", "thumbnail", "model_input"]:
        url = reverse(f"recognizer:{name}", args=[prediction.pk])
        response = client.get(url)
        assert response.status_code == 302, name
        assert response["Location"].startswith(reverse("login"))


def test_upload_redirects_to_prediction_page(client, user, active_model, digit_png):
    client.force_login(user)
    response = upload(client, digit_png)

    prediction = Prediction.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("recognizer:detail", args=[prediction.pk])

    page = client.get(response["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert f'data-testid="predicted-digit">{prediction.digit}<' in html
    assert 'data-testid="confidence"' in html
    assert html.count('class="prob-bar"') == 10
    # The page shows the input of the (one) digit, at its per-digit URL.
    assert reverse("recognizer:digit_input", args=[prediction.pk, 0]) in html
    assert active_model.version in html


@pytest.mark.parametrize(
    ("payload", "name", "message"),
    [
        (b"GIF89a-but-not-really", "x.gif", "not"),
        (b"%PDF-1.4 fake", "doc.pdf", "not"),
        (b"", "empty.png", "empty"),
    ],
)
def test_bad_upload_is_400_with_a_sentence(client, user, active_model, payload, name, message):
    client.force_login(user)
    response = upload(client, payload, name)

    assert response.status_code == 400
    assert message in response.content.decode().lower()
    assert Prediction.objects.count() == 0


def test_a_line_of_dots_is_400_with_a_sentence_before_the_model_reads_it(
    client, user, active_model, monkeypatch
):
    # The probe that once held a worker past its timeout: a few hundred bytes of dots.
    _, model = registry.get_active_model()
    calls = []
    read = model.predict_proba
    monkeypatch.setattr(model, "predict_proba", lambda x: calls.append(len(x)) or read(x))
    client.force_login(user)
    response = upload(client, dot_line_png(35))

    assert response.status_code == 400
    assert "a number can have at most 20" in response.content.decode()
    assert calls == []
    assert Prediction.objects.count() == 0


def test_upload_over_byte_limit_is_refused(client, user, active_model, settings):
    settings.UPLOAD_MAX_BYTES = 1000
    client.force_login(user)
    response = upload(client, b"\x89PNG\r\n\x1a\n" + b"0" * 5000)

    assert response.status_code == 400
    assert "too large" in response.content.decode().lower()
    assert Prediction.objects.count() == 0


def test_missing_file_is_400(client, user, active_model):
    client.force_login(user)
    response = client.post(reverse("recognizer:upload"), {})
    assert response.status_code == 400
    assert "choose an image" in response.content.decode().lower()


def test_owner_sees_own_image_with_safe_headers(client, user, prediction):
    client.force_login(user)
    response = client.get(reverse("recognizer:image", args=[prediction.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")


@pytest.mark.parametrize("name", ["detail", "image", "thumbnail", "model_input"])
def test_other_user_gets_404(client, other_user, prediction, name):
    client.force_login(other_user)
    response = client.get(reverse(f"recognizer:{name}", args=[prediction.pk]))
    assert response.status_code == 404


def test_other_user_cannot_delete(client, other_user, prediction):
    client.force_login(other_user)
    response = client.post(reverse("recognizer:delete", args=[prediction.pk]))
    assert response.status_code == 404
    assert Prediction.objects.filter(pk=prediction.pk).exists()


def test_owner_deletes_prediction_and_file(
    client, user, prediction, django_capture_on_commit_callbacks
):
    client.force_login(user)
    storage, name = prediction.image.storage, prediction.image.name
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("recognizer:delete", args=[prediction.pk]))

    assert response.status_code == 302
    assert not Prediction.objects.filter(pk=prediction.pk).exists()
    assert not storage.exists(name)


def test_delete_asks_first_and_a_get_deletes_nothing(client, user, prediction):
    client.force_login(user)
    response = client.get(reverse("recognizer:delete", args=[prediction.pk]))
    assert response.status_code == 200
    assert 'data-testid="delete-confirm"' in response.content.decode()
    assert Prediction.objects.filter(pk=prediction.pk).exists()


def test_staff_can_view_any_prediction(client, staff_user, prediction):
    client.force_login(staff_user)
    assert client.get(reverse("recognizer:detail", args=[prediction.pk])).status_code == 200
    assert client.get(reverse("recognizer:image", args=[prediction.pk])).status_code == 200


def test_history_lists_only_own_predictions_newest_first(
    client, user, other_user, active_model, digit_png
):
    mine = [
        predictions.prediction_create(user=user, image_file=io.BytesIO(digit_png)) for _ in range(3)
    ]
    theirs = predictions.prediction_create(user=other_user, image_file=io.BytesIO(digit_png))
    client.force_login(user)

    response = client.get(reverse("recognizer:history"))

    listed = [p.pk for p in response.context["page"].object_list]
    assert listed == [p.pk for p in reversed(mine)]
    assert theirs.pk not in listed


def test_history_paginates_by_20(client, user, active_model, digit_png):
    for _ in range(21):
        predictions.prediction_create(user=user, image_file=io.BytesIO(digit_png))
    client.force_login(user)

    first = client.get(reverse("recognizer:history"))
    second = client.get(reverse("recognizer:history"), {"page": 2})

    assert len(first.context["page"].object_list) == 20
    assert len(second.context["page"].object_list) == 1


def test_history_filters_by_digit_and_review(client, user, staff_user, active_model, digit_png):
    a = predictions.prediction_create(user=user, image_file=io.BytesIO(digit_png))
    b = predictions.prediction_create(user=user, image_file=io.BytesIO(digit_png))
    other = str((a.digit + 1) % 10)
    Prediction.objects.filter(pk=b.pk).update(text=other)
    b.digits.update(digit=other)
    review.prediction_review(prediction=a, label=a.digit, reviewer=staff_user)
    client.force_login(user)

    by_digit = client.get(reverse("recognizer:history"), {"digit": a.digit})
    reviewed = client.get(reverse("recognizer:history"), {"reviewed": "yes"})
    unreviewed = client.get(reverse("recognizer:history"), {"reviewed": "no"})

    assert [p.pk for p in by_digit.context["page"].object_list] == [a.pk]
    assert [p.pk for p in reviewed.context["page"].object_list] == [a.pk]
    assert [p.pk for p in unreviewed.context["page"].object_list] == [b.pk]


def test_owner_sees_corrected_label(client, user, staff_user, prediction):
    review.prediction_review(prediction=prediction, label=4, reviewer=staff_user)
    client.force_login(user)

    html = client.get(reverse("recognizer:detail", args=[prediction.pk])).content.decode()
    assert 'data-testid="true-label">4<' in html


def test_failed_prediction_page_explains(client, user, digit_png):
    prediction = predictions.prediction_create(user=user, image_file=io.BytesIO(digit_png))
    client.force_login(user)

    html = client.get(reverse("recognizer:detail", args=[prediction.pk])).content.decode()
    assert prediction.status == Prediction.Status.FAILED
    assert "could not read it yet" in html
    assert "No model is active" in html


def test_owner_sends_feedback_label(client, user, prediction):
    client.force_login(user)
    label = (prediction.digit + 1) % 10
    response = client.post(reverse("recognizer:feedback", args=[prediction.pk]), {"label": label})

    assert response.status_code == 302
    prediction.refresh_from_db()
    assert prediction.user_label == label
    assert prediction.true_label is None  # a claim, not a reviewed label


def test_feedback_with_bad_label_is_400(client, user, prediction):
    client.force_login(user)
    response = client.post(reverse("recognizer:feedback", args=[prediction.pk]), {"label": 12})
    assert response.status_code == 400
    prediction.refresh_from_db()
    assert prediction.user_label is None


def test_other_user_cannot_send_feedback(client, other_user, prediction):
    client.force_login(other_user)
    response = client.post(reverse("recognizer:feedback", args=[prediction.pk]), {"label": 7})
    assert response.status_code == 404


def test_upload_page_offers_the_camera_and_tells_the_script_the_limit(client, user, settings):
    settings.UPLOAD_MAX_BYTES = 123_456
    client.force_login(user)
    html = client.get(reverse("recognizer:upload")).content.decode()

    # The camera is a second input of the same field: the form still posts one `image`.
    assert 'name="image" id="id_camera"' in html
    assert 'capture="environment"' in html
    assert html.count('data-max-bytes="123456"') == 3
    assert f'action="{reverse("recognizer:upload_batch")}"' in html
    assert 'name="images"' in html and " multiple " in html
