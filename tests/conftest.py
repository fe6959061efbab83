import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ml.artifact import save_artifact
from ml.data import load_mnist
from ml.digitness_data import fit_digitness, load_examples
from ml.predict import load_model
from ml.train import train_model
from recognizer import model_versions, registry

TINY_TRAIN = 2000


def pytest_configure(config):
    from digitsite import startup

    startup.prepare_dirs()


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # PBKDF2's real cost (about 0.7 s per test user on 2 shared cores) buys a test nothing; the
    # servers the production tests start keep the real hasher.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _isolated_storage(settings, tmp_path):
    # Uploads and models of a test never touch the developer's var/ folder.
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MODEL_DIR = tmp_path / "models"
    registry.reset()
    yield
    registry.reset()


@pytest.fixture(autouse=True)
def _no_detector_training(settings):
    # Learning the shipped "not a digit" examples takes half a minute; the detector's own tests
    # train small ones.
    settings.DIGITNESS_EXAMPLES = ""


@pytest.fixture(scope="session")
def mnist_test_slice():
    return load_mnist("test", limit=200)


@pytest.fixture(scope="session")
def mnist_train_small():
    return load_mnist("train", limit=TINY_TRAIN)


@pytest.fixture(scope="session")
def tiny_result(mnist_train_small):
    """The one tiny model of a test run: a 10-tree forest on 2000 MNIST images."""
    images, labels = mnist_train_small
    return train_model(images, labels, n_estimators=10, random_state=0)


@pytest.fixture(scope="session")
def tiny_artifact(tmp_path_factory, tiny_result):
    """The tiny model saved like a real artifact (once per run)."""
    result = tiny_result
    out_dir = tmp_path_factory.mktemp("tiny-model")
    return save_artifact(
        result.model,
        out_dir,
        version="tiny-1",
        params={"n_estimators": 10, "limit": TINY_TRAIN},
        metrics={"accuracy": 0.9},
        data_source="mnist-train[:2000]",
        train_seconds=0.0,
    )


@pytest.fixture(scope="session")
def small_detector(tiny_result):
    """A small "not a digit" detector for the tiny model, fitted on a third of the shipped
    examples' uploads: (detector, its report, the examples of a fifth it never saw)."""
    examples = load_examples()
    uploads = np.random.default_rng(0).permutation(np.unique(examples.groups))
    unseen = np.isin(examples.groups, uploads[: len(uploads) // 5])
    seen = np.isin(examples.groups, uploads[-len(uploads) // 3 :])
    detector, report = fit_digitness(examples.take(seen), n_estimators=100, folds=2)
    return detector, report, examples.take(unseen)


@pytest.fixture(scope="session")
def detector_artifact(tiny_result, small_detector, tmp_path_factory):
    """The tiny model with the small detector, saved like any artifact."""
    tiny_result.model.digitness = small_detector[0]
    try:
        return save_artifact(
            tiny_result.model,
            tmp_path_factory.mktemp("with-detector"),
            version="tiny-detector",
            params={"n_estimators": 10},
            metrics={"accuracy": 0.9},
            data_source="mnist-train[:2000] and the shipped detector examples",
            train_seconds=0.0,
        )
    finally:
        tiny_result.model.digitness = None


@pytest.fixture(scope="session")
def model_with_detector(detector_artifact):
    return load_model(detector_artifact.path, expected_sha256=detector_artifact.sha256)


@pytest.fixture
def active_model_with_detector(db, detector_artifact):
    return model_versions.model_version_register(
        version="tiny-detector",
        artifact_path=str(Path(detector_artifact.path).resolve()),
        sha256=detector_artifact.sha256,
        params={"n_estimators": 10},
        metrics={"accuracy": 0.9},
    )


@pytest.fixture
def active_model(db, tiny_artifact):

    return model_versions.model_version_register(
        version=tiny_artifact.metadata.get("version", "tiny-1"),
        artifact_path=str(Path(tiny_artifact.path).resolve()),
        sha256=tiny_artifact.sha256,
        params={"n_estimators": 10},
        metrics={"accuracy": 0.9},
    )


@pytest.fixture
def loaded_tiny_model(tiny_artifact):
    return load_model(Path(tiny_artifact.path), expected_sha256=tiny_artifact.sha256)


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user(username="alice", password="correct-horse-9")


@pytest.fixture
def other_user(django_user_model):
    return django_user_model.objects.create_user(username="bob", password="correct-horse-9")


@pytest.fixture
def staff_user(django_user_model):
    return django_user_model.objects.create_user(
        username="staff", password="correct-horse-9", is_staff=True, is_superuser=True
    )


def digit_photo_bytes(digit_image: np.ndarray, *, fmt: str = "PNG", size: int = 280) -> bytes:
    """An MNIST digit drawn as dark ink on light paper, scaled up like a scan."""
    ink = Image.fromarray(255 - digit_image, mode="L").resize(
        (size, size), Image.Resampling.BICUBIC
    )
    buffer = io.BytesIO()
    ink.convert("RGB").save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.fixture
def digit_png(mnist_test_slice) -> bytes:
    images, _ = mnist_test_slice
    return digit_photo_bytes(images[0])


@pytest.fixture
def prediction(user, active_model, digit_png):
    """One upload by `user`, read by the active tiny model."""
    from recognizer import predictions

    return predictions.prediction_create(
        user=user, image_file=io.BytesIO(digit_png), original_filename="mine.png"
    )


def number_photo_bytes(digit_images: list[np.ndarray], *, size: int = 280) -> bytes:
    """MNIST digits written left to right, a third of a digit apart, dark ink on light paper."""
    gap = size // 3
    paper = Image.new("L", (len(digit_images) * (size + gap) + gap, size + 2 * gap), 255)
    for i, digit in enumerate(digit_images):
        ink = Image.fromarray(255 - digit, mode="L").resize((size, size), Image.Resampling.BICUBIC)
        paper.paste(ink, (gap + i * (size + gap), gap))
    buffer = io.BytesIO()
    paper.convert("RGB").save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def number_png(mnist_test_slice) -> bytes:
    """ "42" from the first MNIST test 4 and 2."""
    images, labels = mnist_test_slice
    four = images[list(labels).index(4)]
    two = images[list(labels).index(2)]
    return number_photo_bytes([four, two])


def copies_of(prediction, n: int) -> list:
    """More rows like one real upload (sharing its files) with its digits, without reading each
    again."""
    from recognizer.models import Digit, Prediction

    def fields(row) -> dict:
        return {
            f.attname: getattr(row, f.attname)
            for f in type(row)._meta.concrete_fields
            if not f.primary_key and f.attname != "prediction_id"
        }

    digits = list(prediction.digits.all())
    copies = []
    for _ in range(n):
        copy = Prediction.objects.create(**fields(prediction))
        Digit.objects.bulk_create([Digit(prediction=copy, **fields(d)) for d in digits])
        copies.append(copy)
    return copies
