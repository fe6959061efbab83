"""Several files from the upload page: all stored or none, then one result per file."""

import io

import pytest
from django.urls import reverse

from recognizer.models import Prediction

pytestmark = pytest.mark.django_db

BATCH = reverse("recognizer:upload_batch")


def named(data: bytes, name: str) -> io.BytesIO:
    file = io.BytesIO(data)
    file.name = name
    return file


def test_batch_stores_each_file_and_lists_each_result(client, user, active_model, digit_png):
    client.force_login(user)
    response = client.post(
        BATCH, {"images": [named(digit_png, "a.png"), named(digit_png, "b.png")]}
    )

    created = list(Prediction.objects.order_by("pk"))
    assert [p.original_filename for p in created] == ["a.png", "b.png"]
    assert all(p.owner == user for p in created)
    assert response.status_code == 302
    page = client.get(response["Location"])
    html = page.content.decode()
    assert html.count('data-testid="batch-result"') == 2
    for prediction in created:
        assert reverse("recognizer:detail", args=[prediction.pk]) in html
        assert f'data-testid="batch-digit">{prediction.digit}<' in html
    assert html.index("a.png") < html.index("b.png")


def test_one_bad_file_stores_nothing_and_names_the_file(client, user, active_model, digit_png):
    client.force_login(user)
    files = [named(digit_png, "good.png"), named(b"%PDF-1.4 fake", "scan.pdf")]
    response = client.post(BATCH, {"images": files})

    assert response.status_code == 400
    assert Prediction.objects.count() == 0
    html = response.content.decode()
    assert "“scan.pdf” (file 2 of 2)" in html
    assert "None of the files was stored" in html
    # The page is the upload page again, both forms ready.
    assert 'data-testid="upload-input"' in html


def test_batch_with_no_file_asks_for_one(client, user):
    client.force_login(user)
    response = client.post(BATCH, {})

    assert response.status_code == 400
    assert "Choose one or more image files" in response.content.decode()


def test_batch_spends_the_upload_budget_for_every_file(
    client, user, active_model, digit_png, settings
):
    settings.UPLOAD_RATE = "3/min"
    client.force_login(user)
    first = client.post(BATCH, {"images": [named(digit_png, f"{i}.png") for i in range(2)]})
    assert first.status_code == 302

    second = client.post(BATCH, {"images": [named(digit_png, f"{i}.png") for i in range(2)]})

    assert second.status_code == 429
    assert int(second["Retry-After"]) >= 1
    assert "limit of 3 uploads" in second.content.decode()
    assert Prediction.objects.count() == 2


def test_batch_of_too_many_files_is_refused(client, user, active_model, digit_png):
    client.force_login(user)
    files = [named(digit_png, f"{i}.png") for i in range(21)]
    response = client.post(BATCH, {"images": files})

    assert response.status_code == 400
    assert "at most 20 images" in response.content.decode()
    assert Prediction.objects.count() == 0


def test_batch_results_show_only_your_own(client, other_user, prediction):
    client.force_login(other_user)
    response = client.get(f"{reverse('recognizer:batch_results')}?ids={prediction.pk}")

    assert response.status_code == 404


def test_batch_needs_login(client, digit_png):
    response = client.post(BATCH, {"images": [named(digit_png, "a.png")]})

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert Prediction.objects.count() == 0


def test_batch_body_may_be_larger_than_one_upload(client, user, active_model, digit_png, settings):
    # A batch carries several files, so the page's batch form gets the API's body limit.
    settings.REQUEST_MAX_BYTES = len(digit_png) + 2000
    client.force_login(user)
    files = [named(digit_png, "a.png"), named(digit_png, "b.png")]

    single = client.post(reverse("recognizer:upload"), {"image": files[0]})
    files[0].seek(0)
    batch = client.post(BATCH, {"images": files})
    for file in files:
        file.seek(0)
    too_big_for_one = client.post(reverse("recognizer:upload"), {"image": files})

    assert single.status_code == 302
    assert batch.status_code == 302
    assert too_big_for_one.status_code == 413
    assert Prediction.objects.count() == 3
