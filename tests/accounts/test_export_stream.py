"""Download my data: streamed as it is written, complete, and limited per user."""

import io
import json
import zipfile

import pytest
from django.urls import reverse

from tests.conftest import copies_of

pytestmark = pytest.mark.django_db


def test_export_is_streamed_entry_by_entry_and_is_a_complete_zip(client, user, prediction):
    rows = [prediction, *copies_of(prediction, 3)]
    client.force_login(user)

    response = client.get(reverse("account_export"))
    chunks = list(response.streaming_content)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert 'filename="digits-alice-' in response["Content-Disposition"]
    # A piece per image and one for the table: nothing waited for the whole archive.
    assert len(chunks) >= len(rows) + 1
    archive = zipfile.ZipFile(io.BytesIO(b"".join(chunks)))
    assert archive.testzip() is None
    with prediction.image.open("rb") as fh:
        stored = fh.read()
    for row in rows:
        assert archive.read(f"images/{row.pk}.png") == stored
    data = json.loads(archive.read("predictions.json"))
    assert [p["id"] for p in data["predictions"]] == [row.pk for row in rows]
    assert {p["image_file"] for p in data["predictions"]} == {
        f"images/{row.pk}.png" for row in rows
    }


def test_export_is_written_while_it_is_sent(client, user, prediction):
    # No archive is built before the answer starts: an image removed after the view returned
    # (here, by deleting its file) is read at its turn, so it is missing from the zip.
    later = copies_of(prediction, 1)[0]
    later.image.name = "predictions/removed-later.png"
    later.save(update_fields=["image"])
    later.image.storage.save(later.image.name, io.BytesIO(b"png"))
    client.force_login(user)

    response = client.get(reverse("account_export"))
    later.image.storage.delete(later.image.name)
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))

    assert f"images/{prediction.pk}.png" in archive.namelist()
    assert f"images/{later.pk}.png" not in archive.namelist()
    rows = {p["id"]: p for p in json.loads(archive.read("predictions.json"))["predictions"]}
    assert rows[later.pk]["image_file"] is None


def test_an_export_without_predictions_is_a_valid_zip(client, user):
    client.force_login(user)

    response = client.get(reverse("account_export"))

    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert archive.namelist() == ["predictions.json"]
    assert json.loads(archive.read("predictions.json"))["predictions"] == []


def test_exports_past_the_limit_get_429_with_a_sentence(client, user, other_user, settings):
    settings.ACCOUNT_EXPORT_RATE = "2/hour"
    client.force_login(user)

    answers = [client.get(reverse("account_export")) for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 429]
    refused = answers[2]
    assert "You have reached the limit of 2 downloads of your data per hour" in (
        refused.content.decode()
    )
    assert int(refused["Retry-After"]) > 0
    client.force_login(other_user)
    assert client.get(reverse("account_export")).status_code == 200
