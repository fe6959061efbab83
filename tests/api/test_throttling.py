import pytest
from django.urls import reverse

from recognizer.models import Prediction

from .conftest import named_file

pytestmark = pytest.mark.django_db

LIST = reverse("api:prediction-list")


@pytest.fixture
def rates(settings):
    def set_rates(user: str = "1000/min", upload: str = "1000/min") -> None:
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {
                **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
                "user": user,
            },
        }
        settings.UPLOAD_RATE = upload

    return set_rates


def test_over_the_user_rate_is_429_with_retry_after(alice, bob, rates):
    rates(user="3/min")
    for _ in range(3):
        assert alice.get(LIST).status_code == 200

    response = alice.get(LIST)

    assert response.status_code == 429
    assert response.json()["error"] == "throttled"
    assert "seconds" in response.json()["detail"]
    assert 1 <= int(response["Retry-After"]) <= 60
    # Per user: someone else still gets through.
    assert bob.get(LIST).status_code == 200


def test_upload_rate_counts_images(alice, active_model, digit_png, rates):
    rates(upload="3/hour")
    batch = [named_file(digit_png, f"{i}.png") for i in range(2)]
    assert alice.post(LIST, {"images": batch}, "multipart").status_code == 201

    # Two of three images are used: a batch of two no longer fits, one image does.
    batch = [named_file(digit_png, f"{i}.png") for i in range(2)]
    refused = alice.post(LIST, {"images": batch}, "multipart")
    assert refused.status_code == 429
    assert 3000 < int(refused["Retry-After"]) <= 3600
    assert Prediction.objects.count() == 2

    assert alice.post(LIST, {"image": named_file(digit_png)}, "multipart").status_code == 201
    assert alice.post(LIST, {"image": named_file(digit_png)}, "multipart").status_code == 429
    # Reading is not an upload.
    assert alice.get(LIST).status_code == 200


def test_anonymous_callers_are_throttled_by_address(db, client, rates):
    rates(user="2/min")
    for _ in range(2):
        assert client.get(reverse("api:schema")).status_code == 200
    response = client.get(reverse("api:schema"))
    assert response.status_code == 429
    assert "Retry-After" in response


def test_a_forged_x_forwarded_for_does_not_buy_an_anonymous_caller_a_new_budget(db, client, rates):
    rates(user="2/min")
    schema = reverse("api:schema")
    for n in range(2):
        assert client.get(schema, headers={"X-Forwarded-For": f"10.0.0.{n}"}).status_code == 200
    assert client.get(schema, headers={"X-Forwarded-For": "10.0.0.9"}).status_code == 429


def test_guessing_tokens_is_throttled_per_address(db, client, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "bad_token": "3/min",
        },
    }
    for n in range(3):
        wrong = client.get(LIST, headers={"Authorization": f"Token wrong{n}"})
        assert wrong.status_code == 401
    response = client.get(LIST, headers={"Authorization": "Token wrong-again"})
    assert response.status_code == 429
    assert response.json()["error"] == "throttled"
    assert "Retry-After" in response
