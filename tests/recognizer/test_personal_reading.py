import io
import json
import re
import zipfile

import numpy as np
import pytest
from django.urls import reverse
from django.utils import timezone

from recognizer import personal, predictions
from recognizer.images import UploadRejected
from recognizer.models import Label
from recognizer.stats import model_version_stats
from testkit.writers import OPEN_EIGHTS, sample

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def eights() -> list[bytes]:
    """Photos of 8s with an open top, which the tiny model reads as 0."""
    rng = np.random.default_rng(2)
    return [sample(OPEN_EIGHTS, 8, rng) for _ in range(6)]


def _upload(user, data: bytes):
    return predictions.prediction_create(user=user, image_file=io.BytesIO(data))


def _correct(user, photos: list[bytes], label: int = 8) -> list:
    """Upload the photos, then say each one read as 0 is a `label`."""
    uploads = [_upload(user, data) for data in photos]
    for upload in uploads:
        assert upload.text == "0"
        predictions.prediction_feedback(prediction=upload, label=label)
    return uploads


def test_three_corrected_eights_make_the_next_ones_eights_for_that_user_only(
    user, other_user, active_model, eights
):
    _correct(user, eights[:3])
    mine = _upload(user, eights[3])
    assert (mine.text, mine.personal_corrections, mine.model_text) == ("8", 3, "0")
    digit = mine.digits.get()
    assert (digit.digit, digit.model_digit) == (8, 0)
    assert digit.model_probabilities[0] > digit.model_probabilities[8]
    theirs = _upload(other_user, eights[3])
    assert (theirs.text, theirs.personal_corrections, theirs.model_text) == ("0", 0, "")
    assert theirs.digits.get().model_digit is None


def test_without_corrections_the_reading_is_the_models(user, active_model, eights):
    from recognizer import registry
    from recognizer.images import load_upload
    from recognizer.inference import model_read

    upload = _upload(user, eights[0])
    _, model = registry.get_active_model()
    alone = model_read(load_upload(io.BytesIO(eights[0])), model, mode="auto")
    assert upload.digits.get().probabilities == list(alone.digits[0].probabilities)
    assert upload.personal_corrections == 0


def test_another_users_claims_never_change_my_reads(user, other_user, active_model, eights):
    _correct(other_user, eights[:3])
    mine = _upload(user, eights[3])
    assert (mine.text, mine.personal_corrections) == ("0", 0)
    assert personal.personal_count(user=user) == 0
    assert personal.personal_count(user=other_user) == 3


def test_deleting_an_upload_removes_its_correction(user, active_model, eights):
    uploads = _correct(user, eights[:3])
    assert len(personal.personal_memory(user=user)) == 3
    for upload in uploads:
        predictions.prediction_delete(prediction=upload)
    assert len(personal.personal_memory(user=user)) == 0
    assert _upload(user, eights[3]).text == "0"


def test_clearing_stops_using_the_corrections_but_keeps_the_claims(user, active_model, eights):
    uploads = _correct(user, eights[:3])
    personal.personal_clear(user=user)
    assert personal.personal_count(user=user) == 0
    again = _upload(user, eights[3])
    assert (again.text, again.personal_corrections) == ("0", 0)
    assert [u.digits.get().user_label for u in uploads] == [8, 8, 8]
    # A correction after clearing counts again.
    predictions.prediction_feedback(prediction=again, label=8)
    assert personal.personal_count(user=user) == 1


def test_a_reviewed_label_wins_over_the_claim(user, staff_user, active_model, eights):
    (upload,) = _correct(user, eights[:1], label=3)
    digit = upload.digits.get()
    digit.true_label, digit.reviewed_by, digit.reviewed_at = 8, staff_user, timezone.now()
    digit.save()
    (only,) = personal.personal_corrections(user=user)
    assert (only.label, only.reviewed) == (8, True)
    assert personal.personal_memory(user=user).labels.tolist() == [8]


def test_a_mark_the_user_said_is_not_a_digit_is_refused_next_time(
    user, other_user, active_model, eights
):
    _correct(user, eights[:3], label=Label.NOT_A_DIGIT)
    with pytest.raises(UploadRejected) as refused:
        _upload(user, eights[3])
    assert refused.value.code == "not_a_digit"
    assert _upload(other_user, eights[3]).text == "0"


@pytest.fixture
def helped(user, active_model, eights):
    """An upload of `user` read with three of their corrections."""
    _correct(user, eights[:3])
    return _upload(user, eights[3])


def test_the_result_page_says_it_was_read_with_the_users_corrections(client, user, helped):
    client.force_login(user)
    page = client.get(reverse("recognizer:detail", args=[helped.pk])).content.decode()
    assert "Read with your 3 corrections." in page
    assert re.search(r'data-testid="model-alone">0<', page)


def test_the_account_page_counts_the_corrections_and_clears_them(client, user, helped):
    client.force_login(user)
    page = client.get(reverse("account")).content.decode()
    assert re.search(r"use your <strong>3</strong> corrections", page)
    response = client.post(reverse("account_personal_clear"))
    assert response.status_code == 302
    assert "use no corrections of yours yet" in client.get(reverse("account")).content.decode()
    assert _upload(user, _photo(helped)).text == "0"


def _photo(prediction) -> bytes:
    with prediction.image.open("rb") as fh:
        return fh.read()


def test_the_api_and_the_export_give_the_same_fields(client, user, helped):
    client.force_login(user)
    body = client.get(reverse("api:prediction-detail", args=[helped.pk])).json()
    assert (body["text"], body["personal_corrections"], body["model_text"]) == ("8", 3, "0")
    (digit,) = body["digits"]
    assert digit["model_digit"] == 0
    assert len(digit["model_probabilities"]) == 10
    response = client.get(reverse("account_export"))
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    data = json.loads(archive.read("predictions.json"))
    memory = data["personal_memory"]
    assert [c["label"] for c in memory["corrections"]] == [8, 8, 8]
    exported = {row["id"]: row for row in data["predictions"]}
    assert exported[helped.pk]["model_text"] == "0"


def test_staff_see_the_corrections_in_use_and_what_personal_reading_changed(
    client, user, staff_user, active_model, helped
):
    digit = helped.digits.get()
    digit.true_label, digit.reviewed_by, digit.reviewed_at = 8, staff_user, timezone.now()
    digit.save()
    stats = model_version_stats(active_model)
    assert stats["personal"] == {
        "uploads": 1,
        "changed": 1,
        "reviewed": 1,
        "right": 1,
        "model_right": 0,
    }
    client.force_login(staff_user)
    page = client.get(reverse("admin:auth_user_changelist")).content.decode()
    assert "corrections in use" in page.lower()
    assert re.search(r'<td class="field-corrections_in_use">4</td>', page)
    change = client.get(reverse("admin:auth_user_change", args=[user.pk])).content.decode()
    assert re.search(r"Corrections in use:.*?<div class=\"readonly\">4</div>", change, re.S)
    stats_page = client.get(reverse("admin:recognizer_modelversion_stats", args=[active_model.pk]))
    assert 'data-testid="personal-right">1<' in stats_page.content.decode()
