"""The README's requests example against a real HTTP server: what the test client cannot see
(e.g. a header a WSGI server refuses) shows up here."""

import pytest
import requests
from rest_framework.authtoken.models import Token

pytestmark = pytest.mark.django_db(transaction=True)


def test_readme_requests_example_over_http(live_server, user, other_user, active_model, digit_png):
    api = f"{live_server.url}/api"
    session = requests.Session()
    session.headers["Authorization"] = f"Token {Token.objects.create(user=user).key}"

    response = session.post(f"{api}/predictions/", files={"image": ("seven.png", digit_png)})
    assert response.status_code == 201, response.text
    prediction = response.json()
    assert response.headers["Location"] == prediction["url"]
    assert prediction["digit"] in range(10)
    assert len(prediction["probabilities"]) == 10

    batch = [("images", (f"{i}.png", digit_png)) for i in range(2)]
    assert len(session.post(f"{api}/predictions/", files=batch).json()) == 2

    listing = session.get(f"{api}/predictions/", params={"digit": prediction["digit"]}).json()
    assert listing["count"] == 3

    image = session.get(prediction["image_url"])
    assert image.headers["Content-Type"] == "image/png"
    assert image.content.startswith(b"\x89PNG")

    refused = session.post(f"{api}/predictions/", files={"image": ("notes.txt", b"hello")})
    assert refused.status_code == 400
    assert refused.json()["error"] == "not_an_image"

    other = requests.Session()
    other.headers["Authorization"] = f"Token {Token.objects.create(user=other_user).key}"
    assert other.get(prediction["url"]).status_code == 404

    assert session.delete(prediction["url"]).status_code == 204
    assert session.get(prediction["url"]).status_code == 404
