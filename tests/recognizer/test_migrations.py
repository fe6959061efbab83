"""Migrations 0008-0009: every upload read so far becomes one DigitReading, nothing lost."""

import io

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone
from PIL import Image

BEFORE = [("recognizer", "0007_model_version_kind")]
AFTER = [("recognizer", "0009_digit_readings_from_uploads")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def migrator(transactional_db):
    yield _migrate
    _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


def _png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (width, height), 255).save(buffer, format="PNG")
    return buffer.getvalue()


def test_each_read_upload_becomes_one_digit_reading_with_its_labels(migrator):
    old = migrator(BEFORE)
    User = old.get_model("auth", "User")
    Prediction = old.get_model("recognizer", "Prediction")
    owner = User.objects.create(username="owner")
    reviewer = User.objects.create(username="reviewer")
    blob = bytes(range(256)) * 3 + bytes(16)
    probabilities = [0.01] * 10
    probabilities[7] = 0.91
    reviewed_at = timezone.now()
    read = Prediction(
        owner=owner,
        digit=7,
        confidence=0.91,
        probabilities=probabilities,
        low_confidence=False,
        model_input=blob,
        status="done",
        user_label=1,
        user_label_at=reviewed_at,
        true_label=1,
        reviewed_by=reviewer,
        reviewed_at=reviewed_at,
    )
    read.image.save("a.png", ContentFile(_png(300, 200)), save=False)
    read.save()
    failed = Prediction.objects.create(owner=owner, status="failed", error_message="no model")

    new = migrator(AFTER)
    Prediction = new.get_model("recognizer", "Prediction")
    DigitReading = new.get_model("recognizer", "DigitReading")
    (digit,) = DigitReading.objects.all()
    assert digit.prediction_id == read.pk
    assert digit.position == 0
    assert (digit.x0, digit.y0, digit.x1, digit.y1) == (0, 0, 300, 200)
    assert bytes(digit.model_input) == blob
    assert (digit.digit, digit.confidence, digit.probabilities) == (7, 0.91, probabilities)
    assert digit.low_confidence is False
    assert (digit.user_label, digit.true_label, digit.reviewed_by_id) == (1, 1, reviewer.pk)
    assert digit.user_label_at == reviewed_at and digit.reviewed_at == reviewed_at
    migrated = Prediction.objects.get(pk=read.pk)
    assert (migrated.text, migrated.mode, migrated.digit) == ("7", "digit", 7)
    # The upload's own fields are untouched; a failed upload has no digit and will be re-read
    # as the one digit it was sent as.
    assert np.array_equal(
        np.frombuffer(bytes(migrated.model_input), np.uint8), np.frombuffer(blob, np.uint8)
    )
    assert migrated.true_label == 1
    unfinished = Prediction.objects.get(pk=failed.pk)
    assert (unfinished.text, unfinished.mode) == ("", "digit")
    assert not DigitReading.objects.filter(prediction_id=failed.pk).exists()


def test_existing_versions_get_their_kind_from_their_params(migrator):
    old = migrator([("recognizer", "0006_stored_bytes")])
    ModelVersion = old.get_model("recognizer", "ModelVersion")
    svm = ModelVersion.objects.create(version="old-svm", sha256="0" * 64, params={"kind": "svm"})
    forest = ModelVersion.objects.create(version="old-rf", sha256="1" * 64, params={})

    new = migrator([("recognizer", "0010_model_version_kind_from_params")])

    ModelVersion = new.get_model("recognizer", "ModelVersion")
    assert ModelVersion.objects.get(pk=svm.pk).kind == "svm"
    assert ModelVersion.objects.get(pk=forest.pk).kind == "rf"


def test_existing_uploads_count_their_stored_files_against_the_quota(migrator, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    old = migrator([("recognizer", "0005_rate_budget")])
    User = old.get_model("auth", "User")
    Prediction = old.get_model("recognizer", "Prediction")
    owner = User.objects.create(username="owner")
    upload = Prediction(owner=owner, status="done")
    upload.image.save("a.png", ContentFile(_png(300, 200)), save=False)
    upload.thumbnail.save("t.png", ContentFile(_png(64, 64)), save=False)
    upload.save()
    gone = Prediction(owner=owner, status="done", image="uploads/2020/01/missing.png")
    gone.save()

    new = migrator([("recognizer", "0006_stored_bytes")])

    Prediction = new.get_model("recognizer", "Prediction")
    expected = len(_png(300, 200)) + len(_png(64, 64))
    assert Prediction.objects.get(pk=upload.pk).stored_bytes == expected
    assert Prediction.objects.get(pk=gone.pk).stored_bytes == 0


LABELS_BEFORE = [("recognizer", "0012_digit_labels")]
LABELS_AFTER = [("recognizer", "0014_prediction_without_labels")]


def _old_upload(Prediction, owner, **fields):
    upload = Prediction(owner=owner, status="done", **fields)
    upload.image.save("a.png", ContentFile(_png(120, 80)), save=False)
    upload.save()
    return upload


def _old_digit(Digit, upload, position, digit, **labels):
    return Digit.objects.create(
        prediction_id=upload.pk,
        position=position,
        x0=10 * position,
        y0=0,
        x1=10 * position + 9,
        y1=20,
        model_input=bytes(784),
        digit=digit,
        confidence=0.8,
        probabilities=[0.1] * 10,
        **labels,
    )


def _history(Historical, row, *, when, by, reason, **fields):
    """A label-history row as the old code wrote it: the row's labels at `when`."""
    skip = {"history_id", "history_date", "history_change_reason", "history_type"}
    values = {
        f.attname: getattr(row, f.attname)
        for f in Historical._meta.fields
        if f.attname not in skip | {"history_user_id"}
    }
    values.update(fields)
    return Historical.objects.create(
        **values,
        history_date=when,
        history_change_reason=reason,
        history_type="~",
        history_user_id=by.pk,
    )


def test_every_label_and_its_history_moves_to_the_digits(migrator):
    old = migrator(LABELS_BEFORE)
    User = old.get_model("auth", "User")
    Prediction = old.get_model("recognizer", "Prediction")
    Digit = old.get_model("recognizer", "Digit")
    HistoricalPrediction = old.get_model("recognizer", "HistoricalPrediction")
    owner = User.objects.create(username="owner")
    reviewer = User.objects.create(username="reviewer")
    t0 = timezone.now() - timezone.timedelta(days=3)
    t1, t2 = t0 + timezone.timedelta(hours=1), t0 + timezone.timedelta(hours=2)
    one = dict(digit=7, confidence=0.9, probabilities=[0.01] * 10, model_input=bytes(784))

    # A one-digit upload the owner claimed and staff reviewed, with its history on the upload.
    reviewed = _old_upload(
        Prediction,
        owner,
        text="7",
        **one,
        user_label=1,
        user_label_at=t1,
        true_label=1,
        reviewed_by=reviewer,
        reviewed_at=t2,
    )
    reviewed_digit = _old_digit(Digit, reviewed, 0, 7, user_label=1, true_label=1)
    _history(
        HistoricalPrediction,
        reviewed,
        when=t0,
        by=owner,
        reason="upload",
        user_label=None,
        user_label_at=None,
        true_label=None,
        reviewed_by_id=None,
        reviewed_at=None,
    )
    _history(
        HistoricalPrediction,
        reviewed,
        when=t1,
        by=owner,
        reason="owner feedback",
        true_label=None,
        reviewed_by_id=None,
        reviewed_at=None,
    )
    _history(HistoricalPrediction, reviewed, when=t2, by=reviewer, reason="review")
    # A one-digit upload excluded as junk.
    junk = _old_upload(
        Prediction,
        owner,
        text="3",
        **{**one, "digit": 3},
        excluded_from_training=True,
        reviewed_by=reviewer,
        reviewed_at=t2,
    )
    _old_digit(Digit, junk, 0, 3)
    # A number: its labels were already per digit; the upload holds its exclusion.
    number = _old_upload(
        Prediction,
        owner,
        text="205",
        excluded_from_training=True,
        reviewed_by=reviewer,
        reviewed_at=t2,
    )
    number_digits = [
        _old_digit(Digit, number, 0, 2, true_label=2, reviewed_by=reviewer, reviewed_at=t1),
        _old_digit(Digit, number, 1, 0, user_label=6, user_label_at=t1),
        _old_digit(Digit, number, 2, 5),
    ]
    _history(HistoricalPrediction, number, when=t2, by=reviewer, reason="exclude")
    # A one-digit upload read before digits had rows of their own.
    lone = _old_upload(
        Prediction,
        owner,
        text="4",
        **{**one, "digit": 4},
        true_label=4,
        reviewed_by=reviewer,
        reviewed_at=t1,
    )

    new = migrator(LABELS_AFTER)
    Prediction = new.get_model("recognizer", "Prediction")
    Digit = new.get_model("recognizer", "Digit")
    HistoricalDigit = new.get_model("recognizer", "HistoricalDigit")

    digit = Digit.objects.get(pk=reviewed_digit.pk)
    assert (digit.user_label, digit.true_label, digit.reviewed_by_id) == (1, 1, reviewer.pk)
    assert (digit.user_label_at, digit.reviewed_at) == (t1, t2)
    assert not digit.excluded_from_training
    history = list(HistoricalDigit.objects.filter(id=digit.pk).order_by("history_date"))
    assert [h.history_change_reason for h in history] == ["upload", "owner feedback", "review"]
    assert [(h.user_label, h.true_label) for h in history] == [(None, None), (1, None), (1, 1)]
    assert [h.history_user_id for h in history] == [owner.pk, owner.pk, reviewer.pk]
    assert all(h.prediction_id == reviewed.pk and h.digit == 7 for h in history)

    junk_digit = Digit.objects.get(prediction_id=junk.pk)
    assert junk_digit.excluded_from_training and junk_digit.reviewed_by_id == reviewer.pk

    migrated = {d.position: d for d in Digit.objects.filter(prediction_id=number.pk)}
    assert all(d.excluded_from_training for d in migrated.values())
    assert (migrated[0].true_label, migrated[0].reviewed_at) == (2, t1)
    assert (migrated[1].user_label, migrated[1].true_label) == (6, None)
    excluded = HistoricalDigit.objects.filter(
        prediction_id=number.pk, history_change_reason="exclude"
    )
    assert sorted((h.id, h.excluded_from_training, h.true_label) for h in excluded) == sorted(
        [
            (number_digits[0].pk, True, 2),
            (number_digits[1].pk, True, None),
            (number_digits[2].pk, True, None),
        ]
    )

    (lone_digit,) = Digit.objects.filter(prediction_id=lone.pk)
    assert (lone_digit.digit, lone_digit.true_label, lone_digit.reviewed_by_id) == (
        4,
        4,
        reviewer.pk,
    )
    assert (lone_digit.x1, lone_digit.y1) == (120, 80)

    # The upload keeps only what is its own.
    names = {f.name for f in Prediction._meta.get_fields()}
    assert not names & {"digit", "confidence", "true_label", "user_label", "excluded_from_training"}
    assert Prediction.objects.get(pk=number.pk).text == "205"


def test_personal_reading_leaves_existing_uploads_read_by_the_model_alone(migrator):
    old = migrator(LABELS_AFTER)
    User = old.get_model("auth", "User")
    Prediction = old.get_model("recognizer", "Prediction")
    Digit = old.get_model("recognizer", "Digit")
    ModelVersion = old.get_model("recognizer", "ModelVersion")
    owner = User.objects.create(username="owner")
    version = ModelVersion.objects.create(version="v1", artifact_path="v1/model.npz", sha256="0")
    upload = _old_upload(Prediction, owner, text="42", model_version=version)
    _old_digit(Digit, upload, 0, 4, user_label=9)
    _old_digit(Digit, upload, 1, 2, true_label=2)

    new = migrator([("recognizer", "0015_personal_reading")])

    Prediction = new.get_model("recognizer", "Prediction")
    Digit = new.get_model("recognizer", "Digit")
    upload = Prediction.objects.get(pk=upload.pk)
    assert (upload.text, upload.model_version.version, upload.personal_corrections) == (
        "42",
        "v1",
        0,
    )
    digits = list(Digit.objects.filter(prediction=upload).order_by("position"))
    assert [(d.digit, d.user_label, d.true_label) for d in digits] == [(4, 9, None), (2, None, 2)]
    assert [(d.model_digit, d.model_probabilities) for d in digits] == [(None, None)] * 2
    assert not new.get_model("recognizer", "PersonalReading").objects.exists()
