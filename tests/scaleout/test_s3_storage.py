import io
import runpy
import shutil
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse
from PIL import Image

from recognizer import artifacts, model_versions, predictions, registry
from recognizer.models import ModelVersion, Prediction

from .conftest import copy_artifact

pytestmark = pytest.mark.django_db

SETTINGS_FILE = str(Path(django_settings.BASE_DIR) / "digitsite" / "settings.py")


@pytest.fixture
def s3_model(s3_storage, settings, tiny_artifact) -> ModelVersion:
    """The tiny model registered the way train_model does it, with the bucket as shared storage."""
    artifact_path = copy_artifact(tiny_artifact, settings.MODEL_DIR, "tiny-s3")
    return model_versions.model_version_register(
        version="tiny-s3",
        artifact_path=artifact_path,
        sha256=tiny_artifact.sha256,
        params={},
        metrics={},
    )


@pytest.fixture
def s3_prediction(s3_model, user, digit_png) -> Prediction:
    return predictions.prediction_create(
        user=user, image_file=io.BytesIO(digit_png), original_filename="mine.png"
    )


def files_under(path: Path) -> list[Path]:
    return sorted(p for p in Path(path).rglob("*") if p.is_file())


def upload(client, data: bytes):
    file = io.BytesIO(data)
    file.name = "digit.png"
    return client.post(reverse("recognizer:upload"), {"image": file})


def test_settings_use_a_private_bucket_only_when_asked(monkeypatch):
    monkeypatch.delenv("DIGITS_STORAGE", raising=False)
    default = runpy.run_path(SETTINGS_FILE)["STORAGES"]["default"]
    assert default["BACKEND"] == "django.core.files.storage.FileSystemStorage"

    monkeypatch.setenv("DIGITS_STORAGE", "s3")
    monkeypatch.setenv("AWS_STORAGE_BUCKET_NAME", "digits-media")
    options = runpy.run_path(SETTINGS_FILE)["STORAGES"]["default"]["OPTIONS"]
    assert options["bucket_name"] == "digits-media"
    assert options["default_acl"] is None
    assert options["querystring_auth"] is True
    assert options["querystring_expire"] == 60
    assert options["file_overwrite"] is False

    monkeypatch.delenv("AWS_STORAGE_BUCKET_NAME")
    with pytest.raises(ImproperlyConfigured, match="AWS_STORAGE_BUCKET_NAME"):
        runpy.run_path(SETTINGS_FILE)


def test_upload_goes_to_the_bucket_not_the_local_disk(
    client, user, s3_storage, s3_model, digit_png, settings
):
    client.force_login(user)
    response = upload(client, digit_png)

    prediction = Prediction.objects.get()
    assert response.status_code == 302
    assert prediction.status == Prediction.Status.DONE
    assert s3_storage.keys("uploads/") == {prediction.image.name}
    assert s3_storage.keys("thumbnails/") == {prediction.thumbnail.name}
    assert files_under(settings.MEDIA_ROOT) == []
    assert Image.open(io.BytesIO(s3_storage.read(prediction.image.name))).format == "PNG"
    # Private: only the bucket owner is granted anything, and an unsigned request is refused.
    acl = s3_storage.client.get_object_acl(Bucket=s3_storage.name, Key=prediction.image.name)
    assert [grant["Permission"] for grant in acl["Grants"]] == ["FULL_CONTROL"]
    assert acl["Grants"][0]["Grantee"]["Type"] == "CanonicalUser"
    unsigned = requests.get(
        f"{s3_storage.endpoint}/{s3_storage.name}/{prediction.image.name}", timeout=10
    )
    assert unsigned.status_code == 403


def test_image_view_redirects_to_a_short_lived_url_that_serves_the_png(
    client, user, s3_storage, s3_prediction
):
    client.force_login(user)
    for name, field in [("image", "image"), ("thumbnail", "thumbnail")]:
        response = client.get(reverse(f"recognizer:{name}", args=[s3_prediction.pk]))

        assert response.status_code == 302
        location = response["Location"]
        assert location.startswith(f"{s3_storage.endpoint}/{s3_storage.name}/")
        query = parse_qs(urlsplit(location).query)
        assert query["X-Amz-Expires"] == ["60"]
        assert query["response-content-type"] == ["image/png"]
        assert "X-Amz-Signature" in query
        assert "no-store" in response["Cache-Control"]

        fetched = requests.get(location, timeout=10)
        assert fetched.status_code == 200
        assert fetched.headers["Content-Type"] == "image/png"
        assert fetched.content == s3_storage.read(getattr(s3_prediction, field).name)
        assert Image.open(io.BytesIO(fetched.content)).format == "PNG"


def test_other_user_gets_404_never_a_redirect(client, other_user, s3_prediction):
    client.force_login(other_user)
    for name in ["image", "thumbnail"]:
        response = client.get(reverse(f"recognizer:{name}", args=[s3_prediction.pk]))
        assert response.status_code == 404
        assert "Location" not in response


def test_delete_removes_the_objects(
    client, user, s3_storage, s3_prediction, django_capture_on_commit_callbacks
):
    assert len(s3_storage.keys("uploads/") | s3_storage.keys("thumbnails/")) == 2
    client.force_login(user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("recognizer:delete", args=[s3_prediction.pk]))

    assert response.status_code == 302
    assert not Prediction.objects.exists()
    assert s3_storage.keys("uploads/") == set()
    assert s3_storage.keys("thumbnails/") == set()


def test_model_registered_on_one_machine_is_fetched_verified_and_used_on_another(
    s3_storage, s3_model, settings, tmp_path, user, digit_png, tiny_artifact
):
    published = s3_storage.keys("models/")
    assert published == {
        "models/tiny-s3/model.npz",
        "models/tiny-s3/model.joblib",
        "models/tiny-s3/metadata.json",
    }
    assert s3_storage.read("models/tiny-s3/model.npz") == Path(tiny_artifact.path).read_bytes()

    # Another machine: same database and bucket, an empty MODEL_DIR, nothing loaded yet.
    settings.MODEL_DIR = tmp_path / "machine-b-models"
    registry.reset()
    version, model = registry.get_active_model()

    assert version == s3_model
    assert model.sha256 == tiny_artifact.sha256
    local = settings.MODEL_DIR / "tiny-s3"
    assert sorted(p.name for p in local.iterdir()) == [
        "metadata.json",
        "model.joblib",
        "model.npz",
    ]
    assert (local / "model.npz").read_bytes() == Path(tiny_artifact.path).read_bytes()

    prediction = predictions.prediction_create(user=user, image_file=io.BytesIO(digit_png))
    assert prediction.status == Prediction.Status.DONE
    assert prediction.model_version == s3_model


def test_corrupt_copy_in_the_bucket_is_refused_and_not_cached(
    s3_storage, s3_model, settings, tmp_path
):
    s3_storage.client.put_object(
        Bucket=s3_storage.name, Key="models/tiny-s3/model.npz", Body=b"not the model"
    )
    settings.MODEL_DIR = tmp_path / "machine-c-models"
    registry.reset()

    with pytest.raises(registry.ModelUnavailable, match="checksum"):
        registry.get_active_model()
    assert not (settings.MODEL_DIR / "tiny-s3" / "model.npz").exists()
    assert "model.npz" not in [p.name for p in files_under(settings.MODEL_DIR)]


def test_missing_copy_in_the_bucket_makes_the_model_unavailable(
    s3_storage, s3_model, settings, tmp_path
):
    s3_storage.client.delete_object(Bucket=s3_storage.name, Key="models/tiny-s3/model.npz")
    settings.MODEL_DIR = tmp_path / "machine-d-models"
    registry.reset()

    with pytest.raises(registry.ModelUnavailable, match="not in the shared storage"):
        registry.get_active_model()


def test_absolute_artifact_path_is_refused_with_shared_storage(s3_storage, tiny_artifact):
    with pytest.raises(artifacts.ArtifactError, match="relative to MODEL_DIR"):
        model_versions.model_version_register(
            version="absolute",
            artifact_path=str(Path(tiny_artifact.path).resolve()),
            sha256=tiny_artifact.sha256,
            params={},
            metrics={},
        )
    assert not ModelVersion.objects.exists()


def test_filesystem_storage_publishes_nothing(settings, tiny_artifact):
    artifact_path = copy_artifact(tiny_artifact, settings.MODEL_DIR, "tiny-fs")
    model_versions.model_version_register(
        version="tiny-fs",
        artifact_path=artifact_path,
        sha256=tiny_artifact.sha256,
        params={},
        metrics={},
    )
    assert files_under(settings.MEDIA_ROOT) == []
    shutil.rmtree(settings.MODEL_DIR / "tiny-fs")
    registry.reset()
    with pytest.raises(registry.ModelUnavailable, match="does not exist"):
        registry.get_active_model()
