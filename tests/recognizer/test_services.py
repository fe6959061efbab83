import io
from pathlib import Path

import numpy as np
import pytest
from django.core.files.storage import default_storage
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext
from PIL import Image

from ml.crop import to_mnist
from recognizer import images, model_versions, predictions, registry, review
from recognizer.models import ModelVersion, Prediction


def stored_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.mark.django_db
def test_prediction_create_stores_reencoded_png_and_result(user, active_model, digit_png, settings):
    prediction = predictions.prediction_create(
        user=user, image_file=io.BytesIO(digit_png), original_filename="../../etc/seven.png"
    )

    prediction.refresh_from_db()
    assert prediction.status == Prediction.Status.DONE
    assert prediction.digit in range(10)
    assert len(prediction.probabilities) == 10
    assert sum(prediction.probabilities) == pytest.approx(1.0, abs=1e-6)
    assert prediction.confidence == max(prediction.probabilities)
    assert prediction.model_version == active_model
    assert prediction.original_filename == "seven.png"
    assert prediction.image.name.endswith(".png")
    assert "seven" not in prediction.image.name
    assert prediction.model_input_array.shape == (28, 28)
    with prediction.image.open("rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n"
    assert len(stored_files(settings)) == 2  # the image and its cached thumbnail


def _variant(png: bytes, kind: str) -> bytes:
    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).copy()
    if kind == "tinted":
        rgb[0, 0] = (250, 240, 230)
    image = Image.fromarray(rgb, mode="RGB")
    if kind in ("opaque_rgba", "transparent_rgba"):
        alpha = np.full(rgb.shape[:2], 255, np.uint8)
        if kind == "transparent_rgba":
            alpha[:10, :10] = 0
        image = Image.fromarray(np.dstack([rgb, alpha]), mode="RGBA")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "stored_mode"),
    [("grey_rgb", "L"), ("opaque_rgba", "L"), ("tinted", "RGB"), ("transparent_rgba", "RGBA")],
)
def test_stored_image_is_lossless_and_grey_ones_take_one_plane(
    user, active_model, digit_png, kind, stored_mode
):
    upload = _variant(digit_png, kind)
    prediction = predictions.prediction_create(user=user, image_file=io.BytesIO(upload))

    with prediction.image.open("rb") as fh:
        stored = Image.open(fh)
        stored.load()
    assert stored.mode == stored_mode
    original = Image.open(io.BytesIO(upload))
    assert np.array_equal(np.asarray(stored.convert(original.mode)), np.asarray(original))
    # repredict reads the stored file: it must see what the first prediction saw.
    with prediction.image.open("rb") as fh:
        again = to_mnist(images.load_stored(fh))
    again = (again * 255).round().astype(np.uint8)
    assert again.tobytes() == bytes(prediction.digits.get().model_input)


@pytest.mark.django_db
def test_rejected_upload_leaves_nothing(user, active_model, settings):
    with pytest.raises(images.UploadRejected) as excinfo:
        predictions.prediction_create(user=user, image_file=io.BytesIO(b"not an image at all"))

    assert excinfo.value.code == "not_an_image"
    assert Prediction.objects.count() == 0
    assert stored_files(settings) == []


@pytest.mark.django_db
def test_blank_image_is_refused_as_no_digit(user, active_model, settings):
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (200, 200), "white").save(buffer, format="PNG")
    with pytest.raises(images.UploadRejected) as excinfo:
        predictions.prediction_create(user=user, image_file=io.BytesIO(buffer.getvalue()))

    assert excinfo.value.code == "no_digit"
    assert Prediction.objects.count() == 0
    assert stored_files(settings) == []


@pytest.mark.django_db
def test_failed_row_insert_removes_stored_files(
    user, active_model, digit_png, settings, monkeypatch
):
    def broken_save(self, *args, **kwargs):
        raise DatabaseError("database is locked")

    monkeypatch.setattr(Prediction, "save", broken_save)
    with pytest.raises(DatabaseError):
        predictions.prediction_create(user=user, image_file=io.BytesIO(digit_png))

    monkeypatch.undo()
    assert Prediction.objects.count() == 0
    assert stored_files(settings) == []


@pytest.mark.django_db
def test_failed_file_write_leaves_no_row_and_no_file(
    user, active_model, digit_png, settings, monkeypatch
):
    calls = {"n": 0}
    real_save = default_storage.save

    def flaky_save(name, content, max_length=None):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(28, "No space left on device")
        return real_save(name, content, max_length=max_length)

    monkeypatch.setattr(default_storage, "save", flaky_save)
    with pytest.raises(OSError):
        predictions.prediction_create(user=user, image_file=io.BytesIO(digit_png))

    assert Prediction.objects.count() == 0
    assert stored_files(settings) == []


@pytest.mark.django_db
def test_upload_without_model_is_kept_as_failed_then_repredicted(user, digit_png, tiny_artifact):
    prediction = predictions.prediction_create(user=user, image_file=io.BytesIO(digit_png))

    assert prediction.status == Prediction.Status.FAILED
    assert "No model is active" in prediction.error_message
    assert prediction.image.storage.exists(prediction.image.name)

    version = model_versions.model_version_register(
        version="tiny-late",
        artifact_path=str(Path(tiny_artifact.path).resolve()),
        sha256=tiny_artifact.sha256,
        params={},
        metrics={},
    )
    prediction = predictions.prediction_run(prediction=Prediction.objects.get(pk=prediction.pk))
    assert prediction.status == Prediction.Status.DONE
    assert prediction.model_version == version
    assert prediction.error_message == ""


@pytest.mark.django_db
def test_an_upload_is_written_once(user, active_model, digit_png):
    predictions.prediction_create(user=user, image_file=io.BytesIO(digit_png))  # model loaded
    with CaptureQueriesContext(connection) as queries:
        prediction = predictions.prediction_create(user=user, image_file=io.BytesIO(digit_png))

    sql = [q["sql"] for q in queries.captured_queries]
    writes = [q for q in sql if not q.startswith(("SELECT", "SAVEPOINT", "RELEASE SAVEPOINT"))]
    # The upload, then its digits in one bulk insert.
    assert len(writes) == 2
    assert writes[0].startswith('INSERT INTO "recognizer_prediction"')
    assert writes[1].startswith('INSERT INTO "recognizer_digit"')
    stored = Prediction.objects.get(pk=prediction.pk)
    assert (stored.status, stored.digit, stored.model_version) == (
        Prediction.Status.DONE,
        prediction.digit,
        active_model,
    )


@pytest.mark.django_db
def test_a_model_that_crashes_leaves_the_upload_stored_as_failed(
    user, active_model, digit_png, monkeypatch
):
    class Broken:
        def predict_proba(self, model_input):
            raise MemoryError

    monkeypatch.setattr(registry, "get_active_model", lambda: (active_model, Broken()))

    prediction = predictions.prediction_create(user=user, image_file=io.BytesIO(digit_png))

    stored = Prediction.objects.get(pk=prediction.pk)
    assert stored.status == Prediction.Status.FAILED
    assert stored.error_message == "Prediction failed unexpectedly (MemoryError)."
    assert stored.digit is None
    assert stored.image.storage.exists(stored.image.name)
    monkeypatch.undo()
    assert predictions.prediction_run(prediction=stored).status == Prediction.Status.DONE


@pytest.mark.django_db
def test_repredict_of_a_lost_image_marks_it_failed(user, active_model, digit_png):
    prediction = predictions.prediction_create(user=user, image_file=io.BytesIO(digit_png))
    prediction.image.storage.delete(prediction.image.name)

    prediction = predictions.prediction_run(prediction=Prediction.objects.get(pk=prediction.pk))

    assert prediction.status == Prediction.Status.FAILED
    assert "stored image cannot be read" in prediction.error_message
    assert Prediction.objects.get(pk=prediction.pk).status == Prediction.Status.FAILED


@pytest.mark.django_db
def test_corrupt_artifact_marks_upload_failed(user, digit_png, tiny_artifact):
    model_versions.model_version_register(
        version="tampered",
        artifact_path=str(Path(tiny_artifact.path).resolve()),
        sha256="0" * 64,
        params={},
        metrics={},
    )
    prediction = predictions.prediction_create(user=user, image_file=io.BytesIO(digit_png))

    assert prediction.status == Prediction.Status.FAILED
    assert "cannot be loaded" in prediction.error_message
    assert Prediction.objects.filter(pk=prediction.pk).exists()


@pytest.mark.django_db
def test_delete_removes_row_and_files(
    user, active_model, digit_png, settings, django_capture_on_commit_callbacks
):
    prediction = predictions.prediction_create(user=user, image_file=io.BytesIO(digit_png))
    with django_capture_on_commit_callbacks(execute=True):
        predictions.prediction_delete(prediction=prediction)

    assert Prediction.objects.count() == 0
    assert stored_files(settings) == []


@pytest.mark.django_db
def test_review_records_reviewer_and_time(user, staff_user, active_model, digit_png):
    prediction = predictions.prediction_create(user=user, image_file=io.BytesIO(digit_png))
    review.prediction_review(prediction=prediction, label=3, reviewer=staff_user)

    prediction.refresh_from_db()
    assert prediction.true_label == 3
    assert prediction.reviewed_by == staff_user
    assert prediction.reviewed_at is not None


@pytest.mark.django_db
def test_only_one_model_version_is_active(tiny_artifact):
    first = model_versions.model_version_register(
        version="a", artifact_path="a/model.joblib", sha256="a" * 64, params={}, metrics={}
    )
    second = model_versions.model_version_register(
        version="b", artifact_path="b/model.joblib", sha256="b" * 64, params={}, metrics={}
    )
    first.refresh_from_db()
    assert not first.is_active
    assert second.is_active
    assert ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).count() == 1


@pytest.mark.django_db
def test_database_refuses_two_active_versions():
    from django.db import IntegrityError, transaction

    ModelVersion.objects.create(version="x", artifact_path="x", sha256="x", status="active")
    with pytest.raises(IntegrityError), transaction.atomic():
        ModelVersion.objects.create(version="y", artifact_path="y", sha256="y", status="active")
