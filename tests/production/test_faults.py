"""Faults that must lose nothing: the model gone or corrupt, storage full, overload errors."""

import errno
import io
import json
import shutil
import sqlite3
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.core.management import call_command
from django.db import OperationalError
from django.urls import reverse

from digitsite.middleware import overload_part
from recognizer import model_versions
from recognizer.models import Prediction

pytestmark = pytest.mark.django_db


def post(client, data: bytes, name: str = "digit.png", **extra):
    upload = io.BytesIO(data)
    upload.name = name
    return client.post(reverse("recognizer:upload"), {"image": upload}, **extra)


def stored_files() -> list[Path]:
    media = Path(settings.MEDIA_ROOT)
    return [p for p in media.rglob("*") if p.is_file()] if media.exists() else []


@pytest.fixture
def own_artifact(db, tiny_artifact):
    """The tiny model copied into this test's MODEL_DIR, registered active, so it can be broken."""
    source = Path(tiny_artifact.path)
    target_dir = Path(settings.MODEL_DIR) / "tiny-own"
    shutil.copytree(source.parent, target_dir)
    model_versions.model_version_register(
        version="tiny-own",
        artifact_path=f"tiny-own/{source.name}",
        sha256=tiny_artifact.sha256,
        params={},
        metrics={},
    )
    return target_dir / source.name


def own_artifact_sha256(artifact: Path) -> str:
    return json.loads((artifact.parent / "metadata.json").read_text())["sha256"]


@pytest.mark.parametrize("fault", ["missing", "corrupt"])
def test_model_fault_keeps_uploads_reports_it_and_repredict_finishes_them(
    client, user, own_artifact, digit_png, tmp_path, fault
):
    good = tmp_path / "good.joblib"
    shutil.copy(own_artifact, good)
    if fault == "missing":
        own_artifact.unlink()
        reason = "does not exist"
    else:
        own_artifact.write_bytes(b"not the model we trained" + good.read_bytes()[:1000])
        reason = "does not match its recorded checksum"
    client.force_login(user)

    response = post(client, digit_png)

    assert response.status_code == 302
    prediction = Prediction.objects.get()
    assert prediction.status == Prediction.Status.FAILED
    assert reason in prediction.error_message
    assert prediction.image.storage.exists(prediction.image.name)
    page = client.get(response["Location"]).content.decode()
    assert reason in page

    health = client.get(reverse("healthz"))
    assert health.status_code == 503
    assert health.json()["failed"] == ["model"]
    assert reason in health.json()["checks"]["model"]["error"]
    # What is wrong, without the internals (hardening 14): no checksum, no server path.
    sha256 = own_artifact_sha256(own_artifact)
    for public in (page, health.content.decode(), prediction.error_message):
        assert str(sha256) not in public
        assert str(settings.MODEL_DIR) not in public

    shutil.copy(good, own_artifact)
    out = io.StringIO()
    call_command("repredict", stdout=out)

    prediction.refresh_from_db()
    assert prediction.status == Prediction.Status.DONE
    assert prediction.digit is not None
    assert prediction.error_message == ""
    assert "Predicted 1 upload(s); 0 still failed." in out.getvalue()
    assert client.get(reverse("healthz")).status_code == 200


class DiskFullStorage(FileSystemStorage):
    """Writes like the real storage until save number `fail_on`, which finds the disk full."""

    def __init__(self, *args, fail_on: int = 1, **kwargs):
        super().__init__(*args, **kwargs)
        self.fail_on = fail_on
        self.saves = 0

    def _save(self, name, content):
        self.saves += 1
        if self.saves == self.fail_on:
            raise OSError(errno.ENOSPC, "No space left on device")
        return super()._save(name, content)


@pytest.mark.parametrize("fail_on", [1, 2], ids=["image-write", "thumbnail-write"])
def test_full_disk_answers_503_and_leaves_no_row_and_no_file(
    client, user, active_model, digit_png, settings, fail_on
):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": f"{__name__}.DiskFullStorage",
            "OPTIONS": {"fail_on": fail_on},
        },
    }
    client.force_login(user)

    response = post(client, digit_png)

    assert response.status_code == 503
    assert response["Retry-After"] == str(settings.RETRY_AFTER_SECONDS)
    assert "Nothing was stored" in response.content.decode()
    assert Prediction.objects.count() == 0
    assert stored_files() == []


def test_overload_answers_json_for_api_clients(client, user, active_model, digit_png, settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": f"{__name__}.DiskFullStorage"},
    }
    client.force_login(user)

    response = post(client, digit_png, HTTP_ACCEPT="application/json")

    assert response.status_code == 503
    assert response.json() == {
        "error": "unavailable",
        "part": "storage",
        "detail": (
            "The site is busy and could not save your request. Nothing was stored; "
            "please try again in a few seconds."
        ),
    }


def _django_error(cause: Exception) -> OperationalError:
    # How Django's DatabaseErrorWrapper hands driver errors to the code above it.
    try:
        raise OperationalError(*cause.args) from cause
    except OperationalError as exc:
        return exc


@pytest.mark.parametrize(
    ("error", "part"),
    [
        (_django_error(sqlite3.OperationalError("database is locked")), "database"),
        (_django_error(psycopg.errors.LockNotAvailable("could not obtain lock")), "database"),
        (_django_error(psycopg.errors.QueryCanceled("lock timeout")), "database"),
        (_django_error(psycopg.errors.DeadlockDetected("deadlock detected")), "database"),
        (_django_error(sqlite3.OperationalError("no such table: x")), None),
        (OSError(errno.ENOSPC, "No space left on device"), "storage"),
        (OSError(errno.EDQUOT, "Disk quota exceeded"), "storage"),
        (FileNotFoundError(errno.ENOENT, "gone"), None),
        (ValueError("bad"), None),
    ],
)
def test_only_retryable_errors_become_503(error, part):
    assert overload_part(error) == part
