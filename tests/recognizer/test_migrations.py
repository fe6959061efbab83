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
