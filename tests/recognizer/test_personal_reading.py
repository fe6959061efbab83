import io

import numpy as np
import pytest
from django.utils import timezone

from recognizer import personal, predictions
from recognizer.images import UploadRejected
from recognizer.models import Label
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
